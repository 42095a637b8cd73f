from __future__ import annotations

import pytest

from mixbook_desktop.core.chapters import FAR_KM, Chapter, Moment, distance_km, group_chapters

PARIS = (48.8566, 2.3522)
LONDON = (51.5074, -0.1278)


def moment(
    photo_id: int, taken_at: str | None, at: tuple[float, float] | None = None, order: int | None = None
) -> Moment:
    lat, lon = at if at is not None else (None, None)
    return Moment(
        photo_id=photo_id,
        order=photo_id if order is None else order,
        taken_at=taken_at,
        lat=lat,
        lon=lon,
    )


def day(photo_ids: list[int], date: str, times: list[str]) -> list[Moment]:
    return [moment(i, f"{date}T{t}:00") for i, t in zip(photo_ids, times, strict=True)]


def ids(chapters: list[Chapter]) -> list[tuple[int, ...]]:
    return [c.photo_ids for c in chapters]


def test_empty_input_gives_no_chapters() -> None:
    assert group_chapters([]) == []


def test_one_day_stays_one_chapter() -> None:
    photos = day([1, 2, 3, 4, 5], "2023-07-14", ["08:00", "10:30", "13:00", "17:45", "22:10"])
    [chapter] = group_chapters(photos)
    assert chapter == Chapter(
        photo_ids=(1, 2, 3, 4, 5),
        start="2023-07-14T08:00:00",
        end="2023-07-14T22:10:00",
        dated=True,
        key="p1",
    )


@pytest.mark.parametrize(
    ("evening", "morning"),
    [("21:30", "08:30"), ("23:30", "06:30")],  # a long night, and a short one under GAP_HOURS
)
def test_a_night_between_two_days_splits(evening: str, morning: str) -> None:
    photos = [
        *day([1, 2, 3], "2023-07-14", ["15:00", "19:00", evening]),
        *day([4, 5], "2023-07-15", [morning, "12:00"]),
    ]
    chapters = group_chapters(photos)
    assert ids(chapters) == [(1, 2, 3), (4, 5)]
    assert [c.key for c in chapters] == ["p1", "p4"]


def test_a_few_hours_within_a_day_stay_together() -> None:
    photos = day([1, 2, 3], "2023-07-14", ["09:00", "14:00", "19:30"])
    assert ids(group_chapters(photos)) == [(1, 2, 3)]


def test_an_evening_running_past_midnight_stays_with_its_day() -> None:
    photos = [
        *day([1, 2], "2023-12-31", ["20:00", "23:30"]),
        *day([3], "2024-01-01", ["02:45"]),  # a pause of over three hours, but before 04:00
    ]
    assert ids(group_chapters(photos)) == [(1, 2, 3)]


def test_a_long_pause_within_a_day_splits() -> None:
    photos = day([1, 2, 3], "2023-07-14", ["06:30", "07:00", "15:30"])
    assert ids(group_chapters(photos)) == [(1, 2), (3,)]
    assert ids(group_chapters(photos, gap_hours=10)) == [(1, 2, 3)]


def test_a_flight_splits_the_places() -> None:
    photos = [
        moment(1, "2023-07-14T10:00:00", PARIS),
        moment(2, "2023-07-14T10:20:00", PARIS),
        moment(3, "2023-07-14T12:30:00", LONDON),
        moment(4, "2023-07-14T13:00:00", LONDON),
    ]
    assert ids(group_chapters(photos)) == [(1, 2), (3, 4)]


def test_a_flight_is_cut_at_the_longest_pause_between_the_fixes() -> None:
    photos = [
        moment(1, "2023-07-14T10:00:00", PARIS),
        moment(2, "2023-07-14T10:20:00"),  # no GPS, still at the gate
        moment(3, "2023-07-14T12:20:00"),  # no GPS, already landed
        moment(4, "2023-07-14T12:30:00", LONDON),
    ]
    assert ids(group_chapters(photos)) == [(1, 2), (3, 4)]


def test_photos_taken_while_moving_do_not_split() -> None:
    # From a fast train: a photo every 15 minutes, each over FAR_KM from the one before.
    stops = [(48.0, 2.0 + 0.85 * k) for k in range(5)]
    assert distance_km(*stops[0], *stops[1]) > FAR_KM
    photos = [moment(k + 1, f"2023-07-14T10:{15 * k:02d}:00", stop) for k, stop in enumerate(stops[:4])]
    photos.append(moment(5, "2023-07-14T11:00:00", stops[4]))
    assert ids(group_chapters(photos)) == [(1, 2, 3, 4, 5)]


def test_a_pause_near_home_does_not_split() -> None:
    near_paris = (48.80, 2.13)  # Versailles, about 17 km away
    photos = [moment(1, "2023-07-14T10:00:00", PARIS), moment(2, "2023-07-14T14:00:00", near_paris)]
    assert ids(group_chapters(photos)) == [(1, 2)]


def test_photos_without_gps_never_split_by_place() -> None:
    photos = [
        moment(1, "2023-07-14T10:00:00", PARIS),
        moment(2, "2023-07-14T12:30:00"),
        moment(3, "2023-07-14T15:00:00"),
    ]
    assert ids(group_chapters(photos)) == [(1, 2, 3)]


def test_mixed_offsets_compare_by_wall_clock() -> None:
    photos = [
        moment(1, "2023-07-14T10:00:00"),  # a camera without an offset
        moment(2, "2023-07-14T09:30:00.25-05:00"),  # a phone; in UTC this is hours after 1
        moment(3, "2023-07-14T11:00:00.123456789"),
        moment(4, "2023-07-14T11:30:00Z"),
        moment(5, "2023-07-14T12:00:00+14:00"),  # in UTC, the evening before
    ]
    [chapter] = group_chapters(photos)
    assert chapter.photo_ids == (2, 1, 3, 4, 5)
    assert chapter.start == "2023-07-14T09:30:00.25-05:00"
    assert chapter.end == "2023-07-14T12:00:00+14:00"


def test_undated_photos_go_last_in_file_order() -> None:
    photos = [
        moment(1, None, order=5),
        moment(2, "2023-07-14T10:00:00"),
        moment(3, "not a date", order=0),  # unreadable counts as undated
        moment(4, "2023-07-14T11:00:00"),
        moment(5, "", order=2),
    ]
    chapters = group_chapters(photos)
    assert ids(chapters) == [(2, 4), (3, 5, 1)]
    assert chapters[-1] == Chapter(photo_ids=(3, 5, 1), start=None, end=None, dated=False, key="undated")


def test_only_undated_photos() -> None:
    [chapter] = group_chapters([moment(7, None), moment(3, None)])
    assert chapter.photo_ids == (3, 7)
    assert not chapter.dated


def test_equal_times_are_ordered_by_file_order() -> None:
    photos = [
        moment(1, "2023-07-14T10:00:00", order=3),
        moment(2, "2023-07-14T10:00:00", order=1),
        moment(3, "2023-07-14T10:00:00+02:00", order=2),
    ]
    [chapter] = group_chapters(photos)
    assert chapter.photo_ids == (2, 3, 1)
    assert chapter.key == "p2"


def test_keys_stay_the_same_when_later_photos_are_added() -> None:
    photos = [
        *day([1, 2], "2023-07-14", ["09:00", "12:00"]),
        *day([3, 4], "2023-07-15", ["09:00", "12:00"]),
        moment(5, None),
    ]
    before = group_chapters(photos)
    added = [
        *day([10], "2023-07-14", ["15:00"]),
        *day([11], "2023-07-15", ["10:00"]),
        *day([12], "2023-07-16", ["09:00"]),
        moment(13, None, order=0),
    ]
    after = group_chapters([*added, *photos])
    assert [c.key for c in before] == ["p1", "p3", "undated"]
    assert [c.key for c in after] == ["p1", "p3", "p12", "undated"]
    assert ids(after) == [(1, 2, 10), (3, 11, 4), (12,), (13, 5)]


def test_distance_km() -> None:
    assert distance_km(*PARIS, *LONDON) == pytest.approx(344, rel=0.01)
    assert distance_km(*LONDON, *PARIS) == pytest.approx(distance_km(*PARIS, *LONDON))
    assert distance_km(*PARIS, *PARIS) == 0
    assert distance_km(0, 0, 0, 180) == pytest.approx(20015, rel=0.001)  # half the equator
