"""Feedback's adapters: the read model's tables and queries."""
