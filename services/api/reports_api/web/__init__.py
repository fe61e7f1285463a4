"""The web page for business staff and its static files."""
