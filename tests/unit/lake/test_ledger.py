from ingest.lake.ledger import committed_rounds, tiling_problems
from ingest.ledger.manifest import FileEntry, Manifest, Writer


def round_(start: int, commit: int, files=(), dead=()) -> Manifest:
    entries = [FileEntry(f"f{a}", "year=2024", 0, a, b, b - a + 1, 10) for a, b in files]
    manifest = Manifest.of_round("s3-sink", "events", 0, start, commit, entries, "events-dlq", dead, Writer(0), 0)
    return Manifest.from_json(f"k{start}", manifest.to_json())


def test_a_manifest_counts_its_rows_and_dead_letters():
    manifest = round_(0, 10, files=[(0, 7)], dead=[9, 8])
    assert (manifest.records, manifest.rows, manifest.dlq_topic, manifest.dlq_offsets) == (
        10, 8, "events-dlq", (8, 9))


def test_consecutive_rounds_tile_the_offsets():
    assert tiling_problems([round_(0, 5, files=[(0, 4)]), round_(5, 9, files=[(5, 7)], dead=[8])]) == []


def test_a_gap_and_an_overlap_are_named():
    problems = tiling_problems([round_(0, 5), round_(6, 9), round_(8, 12)])
    assert problems == ["gap: k0 ends at 5, k6 starts at 6", "overlap: k6 ends at 9, k8 starts at 8"]


def test_rows_or_dead_letters_outside_their_round_are_named():
    problems = tiling_problems([round_(0, 5, files=[(0, 5)], dead=[7])])
    assert problems == ["k0: file f0 holds offsets outside [0, 5)", "k0: dead letters outside [0, 5)"]


def test_only_committed_rounds_count():
    rounds = [round_(0, 5), round_(5, 9)]
    assert [m.commit_offset for m in committed_rounds(rounds, 5)] == [5]
    assert committed_rounds(rounds, None) == []
