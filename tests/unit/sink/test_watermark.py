from ingest.sink.watermark import next_watermark


def test_watermark_never_moves_back_and_follows_the_clock_when_caught_up():
    assert next_watermark(None, 5_000, caught_up=False, now_ms=9_000, lateness_ms=1_000) == 4_000
    assert next_watermark(4_000, 3_000, caught_up=False, now_ms=9_000, lateness_ms=0) == 4_000
    assert next_watermark(4_000, None, caught_up=True, now_ms=9_000, lateness_ms=1_000) == 8_000
    assert next_watermark(None, None, caught_up=False, now_ms=9_000, lateness_ms=0) is None
