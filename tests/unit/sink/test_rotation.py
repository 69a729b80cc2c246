import numpy as np
import pyarrow as pa

from ingest.sink.partition_writer import PartitionWriter
from ingest.sink.rotation import RoundState, next_aligned, next_cut


def arr(*values) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def test_flush_size_counts_records_over_all_open_files():
    cut, why = next_cut(arr(0, 1, 2, 3, 4), arr(0, 1, 0, 1, 0), 0, RoundState(), flush_size=3, rotate_interval_ms=-1)
    assert (cut, why) == (3, "size")


def test_rotate_interval_closes_before_the_record_that_is_too_late():
    cut, why = next_cut(arr(0, 500, 999, 1000, 1200), arr(0, 0, 0, 0, 0), 0, RoundState(), 100, 1000)
    assert (cut, why) == (3, "time")


def test_records_alternating_encoded_partitions_share_the_open_files_by_default():
    assert next_cut(arr(0, 1, 2, 3), arr(0, 1, 0, 1), 0, RoundState(), 100, 1000) == (4, None)
    assert next_cut(arr(0, 1, 2, 3), arr(0, 1, 0, 1), 0, RoundState(), 3, 1000) == (3, "size")


def test_confluent_rotation_closes_the_files_when_the_encoded_partition_changes():
    cut, why = next_cut(arr(0, 1, 2), arr(0, 0, 1), 0, RoundState(), 100, 1000, on_partition_change=True)
    assert (cut, why) == (2, "time")
    assert next_cut(arr(0, 1, 2), arr(0, 0, 1), 0, RoundState(), 100, -1, on_partition_change=True) == (3, None)


def test_open_files_from_an_earlier_batch_count_toward_rotation():
    state = RoundState(count=2, base_time=0, current_code=5)
    assert next_cut(arr(10), arr(6), 0, state, 100, 1000, on_partition_change=True) == (0, "time")
    assert next_cut(arr(10), arr(6), 0, state, 100, 1000) == (1, None)
    assert next_cut(arr(10, 11), arr(5, 5), 0, state, 3, 1000) == (1, "size")
    assert next_cut(arr(10, 1000), arr(5, 6), 0, state, 100, 1000) == (1, "time")  # 1000 ms past the base


def test_scheduled_rotation_aligns_to_the_clock():
    assert next_aligned(1_234, 1_000) == 2_000
    assert next_aligned(2_000, 1_000) == 3_000


def rows(offsets) -> pa.Table:
    return pa.table({"_kafka_offset": pa.array(offsets, pa.int64())})


def test_writer_names_files_by_first_offset_and_commits_past_the_round():
    w = PartitionWriter("events", 0, flush_size=3, rotate_interval_ms=-1, rotate_schedule_interval_ms=-1)
    offsets = arr(10, 11, 13, 14, 15)  # 12 was a bad record
    closed = w.add(rows(offsets), offsets, arr(0, 1, 2, 3, 4), np.array([0, 1, 0, 0, 1]), ["h10", "h11"],
                   batch_end_offset=16, now_ms=0)
    assert len(closed) == 1
    assert [(f.encoded, f.start_offset, f.table["_kafka_offset"].to_pylist()) for f in closed[0].files] == [
        ("h10", 10, [10, 13]), ("h11", 11, [11]),
    ]
    assert closed[0].commit_offset == 14
    assert w.state.count == 2
    final = w.close_now("shutdown")
    assert [(f.encoded, f.start_offset) for f in final.files] == [("h10", 14), ("h11", 15)]
    assert final.commit_offset == 16


def test_scheduled_rotation_is_due_only_with_open_files():
    w = PartitionWriter("events", 0, flush_size=100, rotate_interval_ms=-1, rotate_schedule_interval_ms=1000)
    assert not w.scheduled_due(5_000)
    w.add(rows([0]), arr(0), arr(0), np.array([0]), ["h"], batch_end_offset=1, now_ms=1_500)
    assert not w.scheduled_due(1_999)
    assert w.scheduled_due(2_000)
