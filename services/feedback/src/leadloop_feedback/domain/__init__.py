"""Feedback's pure rules and typed entities: the read model's lead and facts, the CRM's items
and commands, the sales-side decision, and the report arithmetic."""
