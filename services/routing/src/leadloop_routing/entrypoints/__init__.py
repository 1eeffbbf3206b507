"""Routing's entrypoints: HTTP, the consumer, the SLA and delivery workers."""
