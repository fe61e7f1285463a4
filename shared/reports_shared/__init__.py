"""Async Reports shared package: wire schemas, settings and the store clients every service uses."""
