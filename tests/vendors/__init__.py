"""Fake vendor servers for the connector tests, each following its vendor's published docs."""
