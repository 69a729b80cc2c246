from ingest.sink.dlq import RECORD_OVERHEAD, TRUNCATED_HEADER, fit


def test_a_letter_within_the_limit_is_kept_whole():
    headers = [("__connect.errors.topic", b"events")]
    assert fit(b"k", b"x" * 100, headers, 10_000) == (b"x" * 100, headers)


def test_a_letter_over_the_limit_is_cut_to_fit_and_says_how_large_it_was():
    headers = [("__connect.errors.topic", b"events")]
    value, out = fit(b"k", b"x" * 100_000, headers, 20_000)
    assert out == headers + [(TRUNCATED_HEADER, b"100000")]
    size = 1 + len(value) + sum(len(k) + len(v) for k, v in out) + RECORD_OVERHEAD
    assert 0 < len(value) < 20_000 and size <= 20_000


def test_a_tombstone_is_never_cut():
    assert fit(b"k", None, [], 10) == (None, [])
