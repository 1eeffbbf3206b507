"""API keys with scopes, stored hashed in the shared `auth` schema."""
