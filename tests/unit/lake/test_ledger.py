import pytest

from ingest.lake.ledger import LedgerError, committed_rounds, parse_manifest, tiling_problems
from ingest.sink.ledger import manifest


def round_(start: int, commit: int, files=(), dead=()) -> dict:
    entries = [{"key": f"f{a}", "encoded_partition": "year=2024", "kafka_partition": 0, "first_offset": a,
                "last_offset": b, "rows": b - a + 1, "size": 10, "min_event_time": None, "max_event_time": None}
               for a, b in files]
    return manifest("s3-sink", "events", 0, start, commit, entries, "events-dlq", list(dead), {"task": 0}, 0)


def parsed(*documents: dict):
    return [parse_manifest(f"k{d['start_offset']}", d) for d in documents]


def test_a_manifest_counts_its_rows_and_dead_letters():
    document = round_(0, 10, files=[(0, 7)], dead=[8, 9])
    assert (document["records"], document["dlq"]) == (10, {"topic": "events-dlq", "offsets": [8, 9]})
    assert parse_manifest("k", document).rows == 8


def test_other_formats_and_versions_are_refused_by_name():
    with pytest.raises(LedgerError, match="version 2: this reader knows version 1"):
        parse_manifest("k", round_(0, 1) | {"version": 2})
    with pytest.raises(LedgerError, match="format 'other'"):
        parse_manifest("k", round_(0, 1) | {"format": "other"})


def test_unknown_fields_are_ignored():
    assert parse_manifest("k", round_(0, 1) | {"future": {"x": 1}}).commit_offset == 1


def test_consecutive_rounds_tile_the_offsets():
    assert tiling_problems(parsed(round_(0, 5, files=[(0, 4)]), round_(5, 9, files=[(5, 7)], dead=[8]))) == []


def test_a_gap_and_an_overlap_are_named():
    problems = tiling_problems(parsed(round_(0, 5), round_(6, 9), round_(8, 12)))
    assert problems == ["gap: k0 ends at 5, k6 starts at 6", "overlap: k6 ends at 9, k8 starts at 8"]


def test_rows_or_dead_letters_outside_their_round_are_named():
    problems = tiling_problems(parsed(round_(0, 5, files=[(0, 5)], dead=[7])))
    assert problems == ["k0: file f0 holds offsets outside [0, 5)", "k0: dead letters outside [0, 5)"]


def test_only_committed_rounds_count():
    rounds = parsed(round_(0, 5), round_(5, 9))
    assert [m.commit_offset for m in committed_rounds(rounds, 5)] == [5]
    assert committed_rounds(rounds, None) == []
