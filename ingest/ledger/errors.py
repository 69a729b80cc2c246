"""The ledger's one error: a document Sluice cannot read, named by its key."""

from __future__ import annotations

from ingest.errors import SluiceError


class LedgerError(SluiceError):
    """A ledger document Sluice cannot read (another format, a newer version, a field missing)."""

    def __init__(self, key: str, reason: str, kind: str = "ledger manifest"):
        self.key, self.reason, self.kind = key, reason, kind
        super().__init__(f"{kind} {key}: {reason}")


def required(document: dict, name: str, key: str, kind: str = "ledger manifest"):
    """`document[name]`, or a LedgerError naming the document's key and the missing field."""
    if not isinstance(document, dict) or name not in document:
        raise LedgerError(key, f"no field {name!r}", kind)
    return document[name]
