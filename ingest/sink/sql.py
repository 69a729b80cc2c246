"""SQL text for the decoder's DuckDB queries: quoting, JSON paths, the schema's numeric bounds."""

from __future__ import annotations


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def shown_number(value: int | float) -> str:
    """A bound as a reason shows it: 1000000000, not 1000000000.0."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return str(value)


def literal(value: int | float) -> str:
    """A bound as SQL: an integer literal stays exact (an int64 column is compared exactly), a float is a double."""
    return str(value) if isinstance(value, int) else f"{value!r}::double"


# JSON Schema keyword: (SQL comparison that is true when the value breaks it, what the reason says)
BOUNDS = {
    "minimum": ("<", "below its minimum"),
    "exclusiveMinimum": ("<=", "not above its exclusiveMinimum"),
    "maximum": (">", "above its maximum"),
    "exclusiveMaximum": (">=", "not below its exclusiveMaximum"),
}


def json_path_key(name: str) -> str:
    return name if name.isidentifier() else '"' + name.replace('"', '\\"') + '"'
