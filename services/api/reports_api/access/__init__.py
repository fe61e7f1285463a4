"""Who is calling: API keys, roles, and per-client submission limits."""
