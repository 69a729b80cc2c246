import numpy as np

from ingest.lake.ledger import tiling_problems
from ingest.ledger.manifest import FileEntry
from ingest.sample_lake import end_of_last_hour, runs, sample_ledger

H10 = 1_705_312_800_000  # 2024-01-15T10:00:00Z


def entry(partition: int, first: int, last: int, hour: int) -> FileEntry:
    return FileEntry(f"f{partition}-{first}", f"hour={hour}", partition, first, last, last - first + 1, 1,
                     f"2024-01-15T{hour}:00:01.000Z", f"2024-01-15T{hour}:59:00.000Z")


def ledger(entries: dict, ends: dict):
    return sample_ledger("s", "ev", entries, ends, {0: H10 + 1, 1: None}, H10 + 7_200_000, H10 + 7_200_000)


def test_a_file_is_each_run_of_consecutive_rows_in_one_hour():
    assert runs(np.array([0, 0, 1, 1, 1, 0, 2])) == [[0, 1], [2, 3, 4], [5], [6]]


def test_the_last_hour_ends_on_the_hour():
    assert end_of_last_hour(H10, 2) == H10 + 7_200_000
    assert end_of_last_hour(H10 + 60_000, 2) == H10 + 3 * 3_600_000


def test_rounds_tile_from_zero_to_the_partitions_end_one_file_each():
    index, manifests, _ = ledger({0: [entry(0, 0, 3, 10), entry(0, 5, 6, 11)]}, {0: 9})

    assert [(m.start_offset, m.commit_offset) for m in manifests] == [(0, 4), (4, 9)]
    assert tiling_problems(manifests) == []
    assert [m.key for m in manifests] == ["_sluice/s/ledger/ev/00000/00000000000000000000.json",
                                          "_sluice/s/ledger/ev/00000/00000000000000000004.json"]
    assert [(e.key, e.to_json()) for e in index] == [
        ("_sluice/s/hours/ev/2024-01-15T10/00000+00000000000000000000.json", {"manifest": manifests[0].key}),
        ("_sluice/s/hours/ev/2024-01-15T11/00000+00000000000000000004.json", {"manifest": manifests[1].key})]


def test_watermarks_say_every_offset_committed_and_every_hour_complete():
    *_, marks = ledger({0: [entry(0, 0, 3, 10)], 1: [entry(1, 0, 1, 10)]}, {0: 4, 1: 2})

    assert [(m.key, m.committed_offset, m.lag, m.complete_until) for m in marks] == [
        ("_sluice/s/watermarks/ev/0.json", 4, 0, "2024-01-15T12:00:00.000Z"),
        ("_sluice/s/watermarks/ev/1.json", 2, 0, "2024-01-15T12:00:00.000Z")]


def test_a_partition_of_bad_records_only_commits_one_empty_round():
    _, manifests, _ = ledger({}, {0: 3})

    assert [(m.start_offset, m.commit_offset, m.files) for m in manifests] == [(0, 3, ())]

