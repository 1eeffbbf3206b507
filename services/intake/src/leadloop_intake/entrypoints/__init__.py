"""Intake's entrypoints: HTTP routes only (intake consumes no topic)."""
