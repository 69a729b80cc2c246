"""Opt-in repairs of dead letters, and the bulk triage that decides what can go back to its topic.

A repair fixes one known producer mistake and nothing else. Each takes the parsed event and where the record
came from, changes the event in place and says whether it did. Repairs are deterministic (the same record
always gives the same bytes, generated ids included), so replaying a DLQ twice cannot fork a record's identity.
Whether a repaired value is good is never decided here: the sink's own validation (`Decoder`) decides, so a
replayed record cannot bounce back to the DLQ.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ingest.sink.decode import Decoder
from ingest.sink.values import with_converter_errors
from ingest.timefmt import iso_millis

# uuid5 namespace of ids generated for events that arrived without one (fixed forever: ids must be stable).
EVENT_ID_NAMESPACE = uuid.UUID("5e1c3a6e-7d4b-5c1f-9a2e-0d1b2c3e4f50")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
SECONDS_BELOW = 1e11  # 1e11 s is the year 5138, 1e11 ms is March 1973: smaller numbers are seconds


@dataclass(frozen=True)
class Origin:
    """Where a dead letter was first read: the source topic, partition and offset (from the DLQ headers)."""

    topic: str
    partition: int
    offset: int


Repair = Callable[[dict, Origin], bool]


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def default_event_type(event: dict, origin: Origin) -> bool:
    """A missing (or null) event_type becomes "unknown": the event is kept and counted, its type visibly unknown."""
    if event.get("event_type") is not None:
        return False
    event["event_type"] = "unknown"
    return True


def coerce_numeric_timestamp(event: dict, origin: Origin) -> bool:
    """An event_time sent as epoch seconds (< 1e11) or milliseconds becomes ISO 8601 UTC with milliseconds and Z.

    Producers that serialize a time as a number mean the same instant; the schema wants text with a zone.
    """
    value = event.get("event_time")
    if not _is_number(value):
        return False
    ms = round(value * 1000 if abs(value) < SECONDS_BELOW else value)
    try:
        when = EPOCH + dt.timedelta(milliseconds=ms)
    except OverflowError:  # beyond year 9999: no ISO form; validation will keep it parked
        return False
    event["event_time"] = iso_millis(when)
    return True


def event_id_for(origin: Origin) -> str:
    """The id generated for an event without one: a uuid5 of its source coordinates, the same on every replay."""
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{origin.topic}/{origin.partition}/{origin.offset}"))


def generate_missing_event_id(event: dict, origin: Origin) -> bool:
    """A missing (or null) event_id becomes a uuid5 of (source topic, partition, offset), so a replay repeats it."""
    if event.get("event_id") is not None:
        return False
    event["event_id"] = event_id_for(origin)
    return True


def stringify_event_type(event: dict, origin: Origin) -> bool:
    """A numeric event_type becomes its string (7 -> "7"): some producers send type codes as numbers."""
    value = event.get("event_type")
    if not _is_number(value):
        return False
    event["event_type"] = str(value)
    return True


# Name -> repair, in the fixed order they are applied whatever order the caller lists them in.
REPAIRS: dict[str, Repair] = {
    "default_event_type": default_event_type,
    "coerce_numeric_timestamp": coerce_numeric_timestamp,
    "generate_missing_event_id": generate_missing_event_id,
    "stringify_event_type": stringify_event_type,
}


def check_repairs(names: Iterable[str]) -> list[str]:
    """The selected repairs in application order; ValueError naming the allowed ones for an unknown name."""
    names = list(names)
    unknown = sorted(set(names) - set(REPAIRS))
    if unknown:
        raise ValueError(f"unknown repair(s) {', '.join(unknown)}; allowed: {', '.join(REPAIRS)}")
    return [name for name in REPAIRS if name in names]


def repair(value: bytes | None, names: Sequence[str], origin: Origin) -> tuple[bytes, list[str]] | None:
    """The value with the repairs applied, and which applied; None if none applied or it is not a JSON object."""
    if value is None:
        return None
    try:
        event = json.loads(value)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested past Python's limit: nothing to repair
        return None
    if not isinstance(event, dict):
        return None
    applied = [name for name in names if REPAIRS[name](event, origin)]
    if not applied:
        return None
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode(), applied


@dataclass(frozen=True)
class Verdict:
    """What to do with one dead letter."""

    ok: bool  # valid (as is or repaired): replay it
    value: bytes | None  # the value to replay (repaired or original), or the original one to park
    rule: str  # repairs applied, comma-joined, or "none"
    reason: str | None  # the validation failure before repair (None if it was valid as is)
    parked_reason: str | None  # why it cannot be replayed (None if it can)


def triage(decoder: Decoder, values: Sequence[bytes | None], origins: Sequence[Origin],
           names: Sequence[str], converter=None) -> list[Verdict]:
    """Validate all values in bulk, repair the bad ones, validate the repaired ones in bulk again.

    With the sink's `converter` (ingest.sink.values: Avro's wire format, JsonConverter's envelope) each value is
    read through it first, and is replayed as it is or parked: the repairs rewrite JSON events, not those."""
    if converter is not None:
        texts, bad = converter.to_json(list(values))
        first, names = with_converter_errors(decoder.decode(texts), bad), ()
    else:
        first = decoder.decode(list(values))
    before = dict(zip(first.bad_index, first.bad_reason, strict=True))
    repaired = {i: r for i in before if (r := repair(values[i], names, origins[i])) is not None}
    order = sorted(repaired)
    after: dict[int, str] = {}
    if order:
        second = decoder.decode([repaired[i][0] for i in order])
        after = {order[j]: reason for j, reason in zip(second.bad_index, second.bad_reason, strict=True)}
    verdicts = []
    for i, value in enumerate(values):
        if i not in before:
            verdicts.append(Verdict(True, value, "none", None, None))
        elif i in repaired and i not in after:
            verdicts.append(Verdict(True, repaired[i][0], ",".join(repaired[i][1]), before[i], None))
        else:
            rule = ",".join(repaired[i][1]) if i in repaired else "none"
            verdicts.append(Verdict(False, value, rule, before[i], after.get(i, before[i])))
    return verdicts
