import datetime as dt
import json

from orchestration.lib.raw_sensor import EPOCH, LOOKBACK, is_complete, plan_tick, scan_from


def at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2024, 1, 15, hour, minute, tzinfo=dt.UTC)


def digests(**by_hour: str):
    return lambda hour: (by_hour[f"h{hour.hour}"], 3)


def test_first_tick_scans_everything():
    assert scan_from(None) == EPOCH


def test_later_ticks_scan_from_the_open_hour_minus_the_lookback():
    assert scan_from(json.dumps({"next": "2024-01-15-10:00", "seen": {}})) == at(10) - LOOKBACK


def test_an_hour_is_complete_by_watermark_or_after_the_grace_period():
    assert is_complete(at(9), watermark=at(10), now=at(10, 1))
    assert not is_complete(at(9), watermark=at(9, 59), now=at(10, 9))
    assert is_complete(at(9), watermark=None, now=at(10, 10))


def test_complete_hours_run_and_the_cursor_stops_at_the_first_open_hour():
    tick = plan_tick(None, [at(9), at(10), at(11)], watermark=at(11), now=at(11, 5),
                     fingerprint=digests(h9="a", h10="b"))
    assert [(r.key, r.run_key, r.files) for r in tick.runs] == [
        ("2024-01-15-09:00", "2024-01-15-09:00:a", 3), ("2024-01-15-10:00", "2024-01-15-10:00:b", 3)]
    assert json.loads(tick.cursor) == {"next": "2024-01-15-11:00",
                                       "seen": {"2024-01-15-09:00": "a", "2024-01-15-10:00": "b"}}


def test_an_unchanged_hour_does_not_run_again():
    cursor = plan_tick(None, [at(9)], at(10), at(10), digests(h9="a")).cursor
    assert plan_tick(cursor, [at(9)], at(10), at(10), digests(h9="a")).runs == []


def test_a_late_file_changes_the_digest_and_runs_the_hour_again():
    cursor = plan_tick(None, [at(9)], at(10), at(10), digests(h9="a")).cursor
    again = plan_tick(cursor, [at(9)], at(10), at(10), digests(h9="b"))
    assert [r.run_key for r in again.runs] == ["2024-01-15-09:00:b"]


def test_with_every_hour_complete_the_cursor_moves_past_the_latest():
    tick = plan_tick(None, [at(9), at(10)], watermark=at(12), now=at(12), fingerprint=digests(h9="a", h10="b"))
    assert json.loads(tick.cursor)["next"] == "2024-01-15-11:00"


def test_digests_older_than_the_lookback_are_forgotten():
    old = {"2024-01-14-01:00": "x", "2024-01-15-09:00": "a"}
    tick = plan_tick(json.dumps({"next": "2024-01-15-10:00", "seen": old}), [at(10)], at(11), at(11),
                     digests(h10="b"))
    assert json.loads(tick.cursor)["seen"] == {"2024-01-15-09:00": "a", "2024-01-15-10:00": "b"}


def test_nothing_found_keeps_the_cursor():
    assert plan_tick(None, [], watermark=None, now=at(12), fingerprint=digests()).cursor is None
