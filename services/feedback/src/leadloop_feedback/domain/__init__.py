"""Feedback's pure rules: report arithmetic over the closed-loop read model."""
