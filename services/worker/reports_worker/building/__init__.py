"""The build: a payload's records handed to a report type, its files packed into a ZIP."""
