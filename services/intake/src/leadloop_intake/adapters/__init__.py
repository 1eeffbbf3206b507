"""Intake's adapters: its tables and queries."""
