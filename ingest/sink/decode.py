"""Bulk decoding of a batch of Kafka record values into typed Arrow columns, in DuckDB queries.

Every value is checked against the declared schema (valid JSON, an object, required fields present, types,
uuids, parseable and in-range timestamps, finite numbers, integers within int64, the schema's numeric bounds,
nulls); each bad one gets the reason and the Kafka Connect exception class that go into its dead-letter
headers. A time without a zone is read in the connector's `timezone` (UTC by default), never the host's.
JSON is parsed by DuckDB's vectorized reader, not row by row in Python: first the screen (screen.py) types every
value that passes; only the rest go through the full query here, which names what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ingest.errors import ConfigError
from ingest.schema import EventSchema, FieldSpec
from ingest.sink.screen import build_screen_query
from ingest.sink.sql import BOUNDS, ident, json_path_key, literal, quote, shown_number

DATA_EXCEPTION = "org.apache.kafka.connect.errors.DataException"
CONVERTER_EXCEPTION = "org.apache.kafka.connect.errors.DataException"
NULL_EXCEPTION = "org.apache.kafka.connect.errors.ConnectException"


@dataclass(frozen=True)
class Decoded:
    good: pa.Table  # column "i" (index in the batch) + the schema's fields, for valid values only
    bad_index: list[int]
    bad_reason: list[str]
    bad_exception: list[str]
    bad_stage: list[str]  # Kafka Connect stage: VALUE_CONVERTER (unparseable) or TASK_PUT (schema)


def _checks(k: int, f: FieldSpec) -> list[tuple[str, str]]:
    """(condition that is true when broken, reason) for field f, whose columns are t{k}, s{k}, v{k}."""
    t, s, v, name = f"t{k}", f"s{k}", f"v{k}", f.name
    checks = []
    if f.required:
        checks.append((f"{t} is null or {t} = 'NULL'", quote(f"missing required field '{name}'")))
    present = f"{t} is not null and {t} <> 'NULL'"
    shown = f"left({s}, 60)"
    if f.kind in ("integer", "number"):
        # DuckDB's JSON reader takes NaN, Infinity and overflowing literals (1e999) as DOUBLE; its text keeps them.
        checks.append((f"{present} and {t} = 'DOUBLE' and not isfinite(try_cast({s} as double))",
                       f"{quote(f'field {name} is not a finite number: ')} || {shown}"))
    if f.kind == "integer":
        # 2^63..2^64-1 is UBIGINT, a longer integer literal DOUBLE: neither fits the int64 column
        beyond = f"({t} = 'UBIGINT' and {v} is null) or ({t} = 'DOUBLE' and regexp_full_match({s}, '-?[0-9]+'))"
        outside = quote(f"field {name} is outside the int64 range: ")
        checks.append((f"{present} and ({beyond})", f"{outside} || {shown}"))
    allowed, described = {
        "string": ("('VARCHAR')", "a string"), "uuid": ("('VARCHAR')", "a string"),
        "timestamp": ("('VARCHAR')", "an ISO 8601 string"), "json": ("('OBJECT', 'ARRAY')", "an object or array"),
        "date": ("('VARCHAR')", "a date string (YYYY-MM-DD)"), "time": ("('VARCHAR')", "a time string (HH:MM:SS)"),
        "integer": ("('BIGINT', 'UBIGINT')", "an integer"), "number": ("('BIGINT', 'UBIGINT', 'DOUBLE')", "a number"),
        "boolean": ("('BOOLEAN')", "true or false"),
        "decimal": ("('BIGINT', 'UBIGINT', 'DOUBLE', 'VARCHAR')", "a decimal number (best as a string)"),
    }[f.kind]
    must_be = quote(f"field {name} must be {described}, got ")
    checks.append((f"{present} and {t} not in {allowed}", f"{must_be} || lower({t})"))
    if f.number_range is not None:
        for keyword, bound in f.number_range.bounds():
            op, says = BOUNDS[keyword]
            checks.append((f"{present} and {v} {op} {literal(bound)}",
                           f"{quote(f'field {name} is {says} {shown_number(bound)}: ')} || {shown}"))
    if f.kind == "uuid":
        checks.append((f"{present} and {v} is null", f"{quote(f'field {name} is not a uuid: ')} || left({s}, 60)"))
    if f.kind in ("date", "time"):
        not_one = quote(f"field {name} is not a {'date (YYYY-MM-DD)' if f.kind == 'date' else 'time (HH:MM:SS)'}: ")
        checks.append((f"{present} and {v} is null", f"{not_one} || left({s}, 60)"))
    if f.kind == "decimal":
        fits = quote(f"field {name} does not fit decimal({f.precision}, {f.scale}): ")
        checks.append((f"{present} and ({v} is null or {v} <> try_cast({s} as decimal(38, 18)))", f"{fits} || {shown}"))
    if f.kind == "timestamp":
        lo, hi = (x.isoformat() for x in f.time_range)
        not_iso = quote(f"field {name} is not an ISO 8601 time: ")
        checks.append((f"{present} and {v} is null", f"{not_iso} || left({s}, 60)"))
        checks.append((f"{present} and ({v} < {quote(lo)}::timestamptz or {v} >= {quote(hi)}::timestamptz)",
                       f"{quote(f'field {name} is out of range [{lo}, {hi}): ')} || left({s}, 60)"))
    return checks


def _typed(k: int, f: FieldSpec) -> str:
    """The field's typed value from its JSON (f[k]) and its text (s{k})."""
    s, j = f"s{k}", f"f[{k}]"
    return {
        "string": s, "uuid": f"try_cast({s} as uuid)", "timestamp": f"try_cast({s} as timestamptz)",
        "date": f"try_cast({s} as date)", "time": f"try_cast({s} as time)",
        "json": f"{j}::varchar", "integer": f"try_cast({j} as bigint)", "number": f"try_cast({j} as double)",
        "boolean": f"try_cast({j} as boolean)", "decimal": f"try_cast({s} as decimal({f.precision}, {f.scale}))",
    }[f.kind]


def build_query(schema: EventSchema) -> str:
    fields = list(enumerate(schema.fields, start=1))
    paths = ", ".join(quote("$." + json_path_key(f.name)) for f in schema.fields)
    # Each value is parsed once (json_extract of all paths); each field's type, text and typed value once.
    per_field = ",\n".join(
        f"        json_type(f[{k}]) as t{k}, f[{k}]->>'$' as s{k}, {_typed(k, f)} as v{k}" for k, f in fields
    )
    when = "\n".join(f"      when {cond} then {reason}" for k, f in fields for cond, reason in _checks(k, f))
    out = ",\n".join(
        f"    {f'v{k}::varchar' if f.kind == 'uuid' else f'v{k}'} as {ident(f.name)}" for k, f in fields
    )
    return f"""
with decoded as (
    select i, try(decode(raw)) as text, raw is null as is_null from batch
),
parsed as (
    select i, text, is_null,
        case when json_valid(text) then json_type(text) end as doc_type,
        case when json_valid(text) and json_type(text) = 'OBJECT' then json_extract(text, [{paths}]) end as f
    from decoded
),
typed as (
    select i, text, is_null, doc_type,
{per_field}
    from parsed
)
select i,
    case
      when is_null then 'null'
      when text is null or doc_type is null then 'json'
      when doc_type <> 'OBJECT' then 'not_object'
      else 'schema'
    end as stage,
    case
      when is_null then 'null value (tombstone) with behavior.on.null.values=fail'
      when text is null then 'value is not UTF-8 text'
      when doc_type is null then 'value is not valid JSON'
      when doc_type <> 'OBJECT' then 'value is a JSON ' || lower(doc_type) || ', not an object'
{when}
    end as error,
{out}
from typed
order by i
"""


class Decoder:
    """One per task: a DuckDB connection and the query for the schema."""

    def __init__(self, schema: EventSchema, timezone: str = "UTC"):
        self.schema, self.timezone = schema, timezone
        self.query, self.screen = build_query(schema), build_screen_query(schema)
        self.screen_text = build_screen_query(schema, text_given=True)
        self.con = duckdb.connect(config={"threads": 1})
        # A time without a zone is in the connector's timezone, not the session's default (the host's zone).
        # TimeZone needs ICU, which the duckdb wheel has built in (no download).
        try:
            self.con.execute(f"set TimeZone = {quote(timezone)}")
        except duckdb.Error:
            self.con.close()
            raise ConfigError("timezone", timezone, "an IANA time zone such as UTC or Europe/Berlin") from None
        # arrow_schema() ends with the Kafka columns, which the decoder does not produce
        self._target = pa.schema([("i", pa.int32())] + [
            pa.field(f.name, t) for f, t in zip(schema.fields, schema.arrow_schema().types, strict=False)
        ])

    def decode(self, values: list[bytes | None]) -> Decoded:
        """The screen types the values that pass; only the rest go through the full query, for their reasons."""
        batch = pa.table({"i": pa.array(range(len(values)), pa.int32()), "raw": pa.array(values, pa.binary())})
        try:  # Arrow checks UTF-8 at memory speed; DuckDB's decode() is the slower way, for a batch that fails it
            screened = self._run(self.screen_text, pa.table({"i": batch["i"], "text": batch["raw"].cast(pa.string())}))
        except pa.ArrowInvalid:
            screened = self._run(self.screen, batch)
        order = screened["i"].to_numpy()
        if len(order) > 1 and not (order[1:] > order[:-1]).all():
            screened = screened.take(pc.sort_indices(screened["i"]))
        clean = screened["clean"]
        good = screened.filter(clean).drop_columns(["clean"])
        if pc.all(clean).as_py() is not False:  # every value passed (or there were none)
            return Decoded(good.cast(self._target), [], [], [], [])
        result = self._run(self.query, batch.filter(pc.invert(clean)))
        ok = pc.is_null(result["error"])
        good = pa.concat_tables([good, result.filter(ok).drop_columns(["stage", "error"])])
        good = good.take(pc.sort_indices(good["i"])).cast(self._target)
        bad = result.filter(pc.invert(ok)).select(["i", "stage", "error"]).to_pydict()
        stages = {"null": "TASK_PUT", "json": "VALUE_CONVERTER", "not_object": "VALUE_CONVERTER", "schema": "TASK_PUT"}
        exceptions = {"null": NULL_EXCEPTION, "json": CONVERTER_EXCEPTION}
        return Decoded(
            good=good,
            bad_index=bad["i"],
            bad_reason=bad["error"],
            bad_exception=[exceptions.get(s, DATA_EXCEPTION) for s in bad["stage"]],
            bad_stage=[stages[s] for s in bad["stage"]],
        )

    def _run(self, query: str, batch: pa.Table) -> pa.Table:
        self.con.register("batch", batch)
        try:
            return self.con.sql(query).to_arrow_table()
        finally:
            self.con.unregister("batch")
