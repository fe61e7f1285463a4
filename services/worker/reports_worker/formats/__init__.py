"""What writes the report's file formats: CSV, XLSX and the ZIP they are packed in."""
