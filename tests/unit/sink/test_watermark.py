from ingest.sink.watermark import next_watermark, watermark_document

HOUR = 1_705_312_800_000  # 2024-01-15T10:00:00Z


def test_watermark_never_moves_back_and_follows_the_clock_when_caught_up():
    assert next_watermark(None, 5_000, caught_up=False, now_ms=9_000, lateness_ms=1_000) == 4_000
    assert next_watermark(4_000, 3_000, caught_up=False, now_ms=9_000, lateness_ms=0) == 4_000
    assert next_watermark(4_000, None, caught_up=True, now_ms=9_000, lateness_ms=1_000) == 8_000
    assert next_watermark(None, None, caught_up=False, now_ms=9_000, lateness_ms=0) is None


def test_watermark_document_holds_offsets_lag_and_times():
    assert watermark_document("s3-sink", "events", 2, 43, 100, HOUR + 2_000, HOUR + 1_500, HOUR + 60_123) == {
        "connector": "s3-sink", "topic": "events", "partition": 2,
        "committed_offset": 43, "end_offset": 100, "lag": 57,
        "max_record_time": "2024-01-15T10:00:02.000Z", "complete_until": "2024-01-15T10:00:01.500Z",
        "complete_until_ms": HOUR + 1_500, "updated_at": "2024-01-15T10:01:00.123Z",
    }


def test_watermark_document_without_end_offset_or_times_has_no_lag():
    document = watermark_document("s3-sink", "events", 0, 7, None, None, None, HOUR)
    assert (document["end_offset"], document["lag"]) == (None, None)
    assert (document["max_record_time"], document["complete_until"], document["complete_until_ms"]) == (
        None, None, None)
    assert watermark_document("s3-sink", "events", 0, 120, 100, None, None, HOUR)["lag"] == 0
