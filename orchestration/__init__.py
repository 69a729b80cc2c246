"""Sluice's Dagster code location."""
