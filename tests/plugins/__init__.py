"""Report types that exist only for tests, loaded through AR_REPORT_PLUGINS."""
