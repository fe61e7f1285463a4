"""Runs the Async Reports stack as local processes where no Docker engine runs (dev and CI)."""
