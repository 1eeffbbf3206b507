"""Routing's adapters: tables, queries, webhooks, email."""
