"""Reprocessing the sink's dead-letter queue: repair what can be repaired, replay it, park the rest, audit all."""
