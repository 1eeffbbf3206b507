"""Feedback's entrypoints: CRM in, reports out, and the consumer of all four topics."""
