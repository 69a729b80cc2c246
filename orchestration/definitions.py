"""Sluice's Dagster code location: assembles what the orchestration modules define.

The raw-landing, dbt and Cassandra assets arrive with their issues; until then the location loads empty.
"""

import dagster as dg

defs = dg.Definitions()
