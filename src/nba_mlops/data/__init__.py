"""Shot data: the canonical schema, ingestion, the shot store and the daily simulator."""
