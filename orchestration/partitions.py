"""Hourly UTC windows, aligned with the sink's `path.format` (year=/month=/day=/hour=), and their prefixes."""

from __future__ import annotations

import datetime as dt

import dagster as dg

hourly = dg.HourlyPartitionsDefinition(start_date="2024-01-01-00:00", timezone="UTC")


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def hour_path(moment: dt.datetime) -> str:
    """The sink's encoded partition of an hour: year=YYYY/month=MM/day=dd/hour=HH."""
    t = moment.astimezone(dt.UTC)
    return f"year={t:%Y}/month={t:%m}/day={t:%d}/hour={t:%H}"


def partition_key(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d-%H:00")


def partition_start(key: str) -> dt.datetime:
    return dt.datetime.strptime(key, "%Y-%m-%d-%H:%M").replace(tzinfo=dt.UTC)
