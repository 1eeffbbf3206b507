"""Feedback's adapters: its tables, the repository (read-model writes, CRM calls), the unit of
work, and the read side (report queries, journey feeds)."""
