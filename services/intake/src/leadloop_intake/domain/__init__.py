"""Intake's pure rules: what a valid form fill is, and who a person is."""
