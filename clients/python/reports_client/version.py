"""The version of this package (read by the build, sent as the User-Agent)."""

__version__ = "0.1.0"
