"""Conditional writes that keep a member which lost its partitions (frozen by SIGSTOP, a GC pause, a slow S3 past
its session) off the objects of their new owner. Proving ownership to the group (commit.py's `check_owner`) and
then writing is not atomic: a member frozen in between writes after it has thawed. So a round's data files and its
manifest are created only where their key is free (If-None-Match: *). A key already taken holds a retried PUT of
ours, an uncommitted leftover of a crash or a failed round, or the new owner's object: it is replaced only after
the task proved ownership again, and only if it still holds what was found (If-Match: its ETag); a manifest of a
round the group committed never is. The task thread does that (`finish`): it alone may ask Kafka.

Hour index entries stay plain PUTs: an entry's content is fixed by its key (the manifest of the same partition
and start offset), so an overwrite writes the same bytes. An entry a zombie adds for an hour the new owner's round
does not span is one more of the stray entries a crash can leave: readers skip an entry without a manifest, and
take from a round only the files whose event times span the hour.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ingest.errors import CommitFailed
from ingest.ledger.manifest import Manifest


@dataclass(frozen=True)
class Taken:
    """A key an only-if-new PUT found taken; `etag`: the object it held when looked at (None: gone by then)."""

    key: str
    etag: str | None


def put_file(storage, key: str, body: bytes) -> Taken | None:
    """Create a data file (in an upload thread: no Kafka call). A taken key is reported, not overwritten."""
    if storage.put_new(key, body):
        return None
    return Taken(key, storage.etag(key))


def replace_file(storage, taken: Taken, body: bytes) -> None:
    """Once the task proved it owns the partition since `taken` was found: replace what the key held then."""
    written = storage.put_new(taken.key, body) if taken.etag is None else storage.put_over(taken.key, body,
                                                                                           taken.etag)
    if not written:
        raise CommitFailed(f"file {taken.key}", "written by another member since this one found it taken")


def same_round(a: Manifest, b: Manifest) -> bool:
    return (a.start_offset, a.commit_offset, a.files) == (b.start_offset, b.commit_offset, b.files)


def leftover(storage, manifest: Manifest, group_offset: Callable[[], int | None]) -> Taken | None:
    """After an only-if-new PUT of `manifest` was refused, what its key holds: this very round (a retried PUT of
    ours: None, nothing to do), a round the group committed (CommitFailed: the partition has another owner, whose
    round this member must not overwrite), else an uncommitted leftover to replace once ownership is proven."""
    found = storage.get_json_tagged(manifest.key)
    if found is None:
        return Taken(manifest.key, None)
    document, etag = found
    stored = Manifest.from_json(manifest.key, document)
    if same_round(stored, manifest):
        return None
    committed = group_offset()
    if committed is not None and stored.commit_offset <= committed:
        raise CommitFailed(f"manifest {manifest.key}", f"holds a round the group committed (up to "
                           f"{stored.commit_offset}): another member owns {manifest.topic}[{manifest.partition}]")
    return Taken(manifest.key, etag)


def replace_manifest(storage, taken: Taken, manifest: Manifest) -> None:
    """Once the task proved it owns the partition since `taken` was found: replace the leftover manifest."""
    document = manifest.to_json()
    written = (storage.put_json_new(taken.key, document) if taken.etag is None
               else storage.put_json_over(taken.key, document, taken.etag))
    if not written:
        raise CommitFailed(f"manifest {taken.key}", "written by another member since this one found it taken")
