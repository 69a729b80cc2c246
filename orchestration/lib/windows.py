"""Hourly UTC windows: the hours a partition window covers and the partition keys of hours."""

from __future__ import annotations

import datetime as dt

HOUR = dt.timedelta(hours=1)
KEY_FORMAT = "%Y-%m-%d-%H:%M"  # Dagster's hourly partition keys


def partition_key(hour: dt.datetime) -> str:
    return hour.astimezone(dt.UTC).strftime("%Y-%m-%d-%H:00")


def partition_start(key: str) -> dt.datetime:
    return dt.datetime.strptime(key, KEY_FORMAT).replace(tzinfo=dt.UTC)


def hours_of(start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """The UTC hours starting in [start, end)."""
    first = start.astimezone(dt.UTC)
    return [first + k * HOUR for k in range(int((end - start) // HOUR))]
