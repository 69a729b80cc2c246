"""The lake in plain Python: its names and object keys, DuckDB over S3, landing, listings, the offset audit."""
