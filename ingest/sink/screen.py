"""The decoder's fast path: one cheap query that types the values passing every check, leaving the rest
(`clean` false) to the full query, which alone says why a value is bad.

Each value is parsed three times in bulk (json_valid, json_type of every field, from_json into typed columns)
instead of once per field and check. The screen is stricter than the full query, never looser: a field must have
its JSON type, every typed value must exist (an integer field beyond int64 goes the full way), and times and
numbers must be within their bounds. A value it passes gets the same typed columns as the full query gives it
(tests/unit/sink/test_decode.py runs both on the same values).
"""

from __future__ import annotations

import json

from ingest.schema import EventSchema, FieldSpec
from ingest.sink.sql import BOUNDS, ident, json_path_key, literal, quote

# kind: (the JSON types it passes with, what from_json reads it as)
_KINDS = {
    "string": ("('VARCHAR')", "VARCHAR"), "uuid": ("('VARCHAR')", "VARCHAR"),
    "timestamp": ("('VARCHAR')", "VARCHAR"), "json": ("('OBJECT', 'ARRAY')", "JSON"),
    "date": ("('VARCHAR')", "VARCHAR"), "time": ("('VARCHAR')", "VARCHAR"),
    "integer": ("('BIGINT', 'UBIGINT')", "BIGINT"), "number": ("('BIGINT', 'UBIGINT', 'DOUBLE')", "DOUBLE"),
    "boolean": ("('BOOLEAN')", "BOOLEAN"), "decimal": ("('BIGINT', 'UBIGINT', 'DOUBLE', 'VARCHAR')", "VARCHAR"),
}


def _value(k: int, f: FieldSpec) -> str:
    """The field's typed value, as the full query types it."""
    raw = f"j.{ident(f.name)}"
    return {"uuid": f"try_cast({raw} as uuid)", "timestamp": f"try_cast({raw} as timestamptz)",
            "date": f"try_cast({raw} as date)", "time": f"try_cast({raw} as time)",
            "json": f"{raw}::varchar",
            "decimal": f"try_cast({raw} as decimal({f.precision}, {f.scale}))"}.get(f.kind, raw)


def _passes(k: int, f: FieldSpec) -> str:
    """True when field k is as the schema wants it: its type ty[k + 1], its typed value v{k}."""
    t, v = f"ty[{k + 1}]", f"v{k}"
    conditions = [f"{t} in {_KINDS[f.kind][0]}"]
    if f.kind in ("uuid", "timestamp", "integer", "decimal", "date", "time"):  # int beyond int64: null
        conditions.append(f"{v} is not null")
    if f.kind == "decimal":  # no digits rounded away
        conditions.append(f"{v} = try_cast(r{k} as decimal(38, 18))")
    if f.kind == "timestamp":
        lo, hi = (quote(x.isoformat()) for x in f.time_range)
        conditions.append(f"{v} >= {lo}::timestamptz and {v} < {hi}::timestamptz")
    if f.kind == "number":
        conditions.append(f"isfinite({v})")
    if f.number_range is not None:
        conditions += [f"not ({v} {BOUNDS[keyword][0]} {literal(bound)})" for keyword, bound in f.number_range.bounds()]
    present = " and ".join(conditions)
    return f"({present})" if f.required else f"({t} is null or {t} = 'NULL' or ({present}))"


def build_screen_query(schema: EventSchema, text_given: bool = False) -> str:
    """The screen over `batch` (i, raw); with `text_given`, over (i, text): values Arrow has checked are UTF-8."""
    fields = list(enumerate(schema.fields, start=1))
    paths = ", ".join(["'$'"] + [quote("$." + json_path_key(f.name)) for f in schema.fields])
    structure = quote(json.dumps({f.name: _KINDS[f.kind][1] for f in schema.fields}))
    raw = {k: f", j.{ident(f.name)} as r{k}" for k, f in fields if f.kind == "decimal"}  # its text, to compare
    values = ",\n".join(f"        {_value(k, f)} as v{k}{raw.get(k, '')}" for k, f in fields)
    clean = "\n        and ".join(["ty[1] = 'OBJECT'"] + [_passes(k, f) for k, f in fields])
    out = ",\n".join(f"    {f'v{k}::varchar' if f.kind == 'uuid' else f'v{k}'} as {ident(f.name)}" for k, f in fields)
    return f"""
with decoded as (
    select i, {"text" if text_given else "try(decode(raw)) as text"} from batch
),
valid as (
    select i, text, json_valid(text) as ok from decoded
),
types as (
    select i, text, case when ok then json_type(text, [{paths}]) end as ty from valid
),
parsed as (
    select i, ty, case when ty[1] = 'OBJECT' then from_json(text, {structure}) end as j from types
),
typed as (
    select i, ty,
{values}
    from parsed
)
select i,
    coalesce({clean}, false) as clean,
{out}
from typed
"""  # (no order by: one thread, no join or aggregate, so DuckDB keeps the batch's order; Decoder checks it)
