"""Routing's pure rules: the decision chain, round robin, working hours, the SLA ladder."""
