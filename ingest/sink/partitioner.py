"""Pure: a record's time (or field values) -> its encoded partition, e.g. "year=2024/month=01/day=15/hour=10".

Mirrors kafka-connect-storage-common's partitioners. Time-based ones floor the record time to
`partition.duration.ms` in the configured time zone and format the bucket with a Joda-Time `path.format`.
Work is per batch: records are bucketed with numpy and each distinct bucket is formatted once.
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
import zoneinfo
from collections.abc import Sequence

import numpy as np

# Joda-Time pattern letters Sluice formats (numbers only, so the locale never changes a path).
JODA_FIELDS = {"Y": "year", "y": "year", "x": "year", "M": "month", "d": "day", "H": "hour", "m": "minute",
               "s": "second", "D": "dayofyear"}
TOKEN_RE = re.compile(r"'([^']*)'|([A-Za-z])\2*|([^A-Za-z']+)")
QUARTER_HOUR_MS = 900_000


def _tokens(pattern: str) -> list[tuple[str, str, int]]:
    """("lit", text, 0) or ("field", name, width) for each piece of a Joda pattern."""
    out, pos = [], 0
    while pos < len(pattern):
        m = TOKEN_RE.match(pattern, pos)
        if m is None:  # an unterminated quote
            raise ValueError(f"unterminated quote at position {pos}")
        quoted, letters, other = m.group(1), m.group(0) if m.group(2) else None, m.group(3)
        if quoted is not None:
            out.append(("lit", quoted or "'", 0))
        elif letters:
            if letters[0] not in JODA_FIELDS:
                raise ValueError(f"pattern letter '{letters[0]}' is not supported")
            out.append(("field", JODA_FIELDS[letters[0]], len(letters)))
        else:
            out.append(("lit", other, 0))
        pos = m.end()
    return out


def validate_path_format(pattern: str) -> str | None:
    """None if Sluice can format `pattern`, else what is allowed."""
    try:
        _tokens(pattern)
    except ValueError as exc:
        return f"{exc}; use quoted literals and the letters {''.join(JODA_FIELDS)} (e.g. 'year'=YYYY/'hour'=HH)"
    return None


def format_time(tokens: list[tuple[str, str, int]], when: dt.datetime) -> str:
    parts = []
    for kind, value, width in tokens:
        if kind == "lit":
            parts.append(value)
            continue
        number = when.timetuple().tm_yday if value == "dayofyear" else getattr(when, value)
        if value == "year" and width == 2:
            number %= 100
        parts.append(str(number).zfill(width))
    return "".join(parts)


class TimeBasedPartitioner:
    """Hourly, Daily and TimeBased partitioners: record time (epoch ms) -> encoded partition."""

    def __init__(self, path_format: str, duration_ms: int, timezone: str):
        self.tokens = _tokens(path_format)
        self.duration_ms = duration_ms
        self.zone = zoneinfo.ZoneInfo(timezone)
        self._utc = timezone in ("UTC", "Etc/UTC", "GMT")

    def _offsets_ms(self, times_ms: np.ndarray) -> np.ndarray:
        """The zone's UTC offset at each time; looked up once per quarter hour, where offsets change."""
        quarters, inverse = np.unique(times_ms // QUARTER_HOUR_MS, return_inverse=True)
        offsets = np.array([
            dt.datetime.fromtimestamp(q * QUARTER_HOUR_MS / 1000, self.zone).utcoffset() // dt.timedelta(milliseconds=1)
            for q in quarters
        ], dtype=np.int64)
        return offsets[inverse]

    def bucket_starts(self, times_ms: np.ndarray) -> np.ndarray:
        """Each time floored to its partition in local time, as that local time's epoch-ms label."""
        local = times_ms if self._utc else times_ms + self._offsets_ms(times_ms)
        return (local // self.duration_ms) * self.duration_ms

    def encode_bucket(self, local_start_ms: int) -> str:
        # The bucket label is local wall time expressed as if it were UTC: format it as such.
        when = dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=int(local_start_ms))
        return format_time(self.tokens, when)

    def encode(self, times_ms: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """(code per record, encoded partition per code)."""
        buckets, codes = np.unique(self.bucket_starts(times_ms), return_inverse=True)
        return codes, [self.encode_bucket(b) for b in buckets]


class DefaultPartitioner:
    """Confluent's default: one directory per Kafka partition, "partition=<n>"."""

    def encode(self, kafka_partition: int, count: int) -> tuple[np.ndarray, list[str]]:
        return np.zeros(count, dtype=np.int64), [f"partition={kafka_partition}"]


def _safe(value: object) -> str:
    # Field values come from the data: percent-encode anything that could change the S3 key's shape.
    return urllib.parse.quote(str(value), safe="")


class FieldPartitioner:
    """partition.field.name: "<field>=<value>/..." from the record's own fields."""

    def __init__(self, fields: Sequence[str]):
        self.fields = list(fields)

    def encode(self, columns: Sequence[Sequence[object]]) -> tuple[np.ndarray, list[str]]:
        rows = zip(*columns, strict=True)
        labels = ["/".join(f"{f}={_safe(v)}" for f, v in zip(self.fields, row, strict=True)) for row in rows]
        uniques, codes = np.unique(np.array(labels, dtype=object), return_inverse=True)
        return codes, list(uniques)
