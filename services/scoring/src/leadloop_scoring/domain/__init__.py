"""Scoring's pure rules: the agreement, fit, interest, decay, the matrix, the lifecycle."""
