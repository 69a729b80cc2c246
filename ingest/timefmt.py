"""Time as Sluice writes it: epoch milliseconds and UTC datetimes to ISO 8601 text with a `Z`, and back."""

from __future__ import annotations

import datetime as dt


def utc(moment: dt.datetime | int) -> dt.datetime:
    """An aware UTC datetime from epoch milliseconds or any aware datetime."""
    if isinstance(moment, dt.datetime):
        return moment.astimezone(dt.UTC)
    return dt.datetime.fromtimestamp(moment / 1000, dt.UTC)


def iso_millis(moment: dt.datetime | int) -> str:
    """`2024-01-15T10:00:00.123Z`."""
    return utc(moment).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_seconds(moment: dt.datetime | int) -> str:
    """`2024-01-15T10:00:00Z`."""
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def compact(moment: dt.datetime | int) -> str:
    """`20240115T100000123456Z`: sortable, safe in object keys and run ids."""
    return utc(moment).strftime("%Y%m%dT%H%M%S%fZ")


def parse_iso(text: str) -> dt.datetime:
    """ISO 8601 text (`Z` allowed); without a zone it is read as UTC, never as the host's zone."""
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def epoch_ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)
