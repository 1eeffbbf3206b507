"""Scoring's adapters: its tables and queries."""
