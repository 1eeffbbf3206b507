"""Scoring's entrypoints: the Kafka consumer, the HTTP routes, the decay scheduler."""
