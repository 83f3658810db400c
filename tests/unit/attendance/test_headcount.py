"""headcount: re-linking track fragments (gap, seat, class, closest, once), present by seconds seen, per minute.

Every expected value is worked out by hand in the test. Boxes are ``x1, y1, x2, y2`` pixels; at 10 fps a frame is
0.1 s. The seat: ``SEAT`` is 40 wide and 80 high, centre (120, 140); widened by half its width and height on each
side it spans x 80..160, y 60..220.
"""

from __future__ import annotations

import pytest

from yolo_workbook.attendance.counts import Track
from yolo_workbook.attendance.headcount import Headcount, headcount, relink

SEAT = (100.0, 100.0, 140.0, 180.0)  # centre (120, 140); widened: x 80..160, y 60..220
NEXT_SEAT = (300.0, 100.0, 340.0, 180.0)  # centre (320, 140): outside SEAT's widened box


def frag(track_id: int, first: int, last: int, *, box=SEAT, name: str = "student", seen: int | None = None) -> Track:
    """A track matched in every frame from ``first`` to ``last`` (unless ``seen``), at ``box`` all along."""
    return Track(track_id, name, first, last, seen if seen is not None else last - first + 1, 0.9, box, box)


def chains(tracks: list[Track], *, lost_s: float = 2.0, fps: float | None = 10.0) -> list[tuple[int, ...]]:
    return [identity.track_ids for identity in relink(tracks, lost_s=lost_s, fps=fps)]


def count(tracks: list[Track], **options) -> Headcount:
    settings = {"lost_s": 2.0, "fps": 10.0, "vid_stride": 1, "min_seen_s": 2.0, "classes": ["student", "desk"]}
    return headcount(tracks, **{**settings, **options})


# A student hidden behind the teacher: last seen in frame 99, seen again in frame 114 at the same seat.
# Gap: (114 - 99) / 10 fps = 1.5 s.
BEFORE = frag(1, 0, 99)  # 100 frames: 10 s
AFTER = frag(2, 114, 299)  # 186 frames: 18.6 s


@pytest.mark.parametrize(
    ("lost_s", "expected", "present", "relinked"),
    [
        (2.0, [(1, 2)], 1, 1),  # 1.5 s <= 2 s: one identity, one link
        (1.5, [(1, 2)], 1, 1),  # 1.5 s <= 1.5 s: the gap may be exactly lost_s
        (1.0, [(1,), (2,)], 2, 0),  # 1.5 s > 1 s: two identities, both seen >= 2 s (10 s and 18.6 s)
    ],
)
def test_a_student_hidden_for_1_5_s_is_one_identity_within_lost_s(lost_s, expected, present, relinked):
    assert chains([BEFORE, AFTER], lost_s=lost_s) == expected
    hc = count([BEFORE, AFTER], lost_s=lost_s).classes["student"]
    assert (hc.present, hc.fragments, hc.relinked) == (present, 2, relinked)


def test_the_gap_is_in_source_frames_whatever_the_stride_or_the_frame_rate():
    # vid_stride 3 at 30 fps: frame ids 0, 3, ..., 297 are processed; seen again in frame 342.
    # Gap: (342 - 297) / 30 = 1.5 s <= 2 s (not 4.5 s: frame ids are source frames, no stride in it).
    assert chains([frag(1, 0, 297, seen=100), frag(2, 342, 600, seen=87)], fps=30.0) == [(1, 2)]
    # No frame rate (images): DEFAULT_FPS, 30 a second. Gap (114 - 99) / 30 = 0.5 s <= 1 s (at 10 fps: 1.5 s > 1).
    assert chains([BEFORE, AFTER], lost_s=1.0, fps=None) == [(1, 2)]


@pytest.mark.parametrize(
    ("box", "linked"),
    [
        (NEXT_SEAT, False),  # another seat: centre x 320 > 160
        ((140.0, 100.0, 180.0, 180.0), True),  # half a seat to the right: centre x 160 = 160, on the edge
        ((141.0, 100.0, 181.0, 180.0), False),  # a pixel further: centre x 161 > 160
        ((100.0, 180.0, 140.0, 260.0), True),  # half a seat lower: centre y 220 = 220 (half the height, not width)
        ((100.0, 181.0, 140.0, 261.0), False),  # centre y 221 > 220
        ((60.0, 20.0, 100.0, 100.0), True),  # up and left: centre (80, 60), the widened box's corner
    ],
)
def test_a_fragment_is_linked_only_when_it_starts_near_the_seat(box, linked):
    # SEAT widened by half its width (40 / 2 = 20) and height (80 / 2 = 40) on each side: x 80..160, y 60..220.
    after = Track(2, "student", 114, 299, 186, 0.9, box, box)
    assert chains([BEFORE, after]) == ([(1, 2)] if linked else [(1,), (2,)])


def test_a_fragment_of_another_class_at_the_same_seat_is_not_linked():
    # A desk detected at the student's seat 1.5 s after the student was lost: same place, same gap, other class.
    desk = frag(2, 114, 299, name="desk")
    assert chains([BEFORE, desk]) == [(1,), (2,)]
    hc = count([BEFORE, desk])
    assert (hc.classes["student"].present, hc.classes["desk"].present) == (1, 1)
    assert hc.classes["student"].relinked == hc.classes["desk"].relinked == 0


def test_a_blip_is_not_present_alone_but_counts_when_it_links_to_a_longer_fragment():
    blip = frag(1, 0, 4)  # 5 frames: 0.5 s < 2 s
    longer = frag(2, 15, 30)  # 16 frames: 1.6 s < 2 s; gap (15 - 4) / 10 = 1.1 s
    assert count([blip]).classes["student"].present == 0  # 0.5 s < 2 s
    # lost_s 1: 1.1 s > 1 s, two identities of 0.5 s and 1.6 s: neither reaches 2 s
    assert count([blip, longer], lost_s=1.0).classes["student"].present == 0
    # lost_s 2: one identity seen 0.5 + 1.6 = 2.1 s >= 2 s (the sum: neither fragment alone is enough)
    hc = count([blip, longer], lost_s=2.0)
    assert (hc.classes["student"].present, hc.classes["student"].relinked) == (1, 1)
    # vid_stride 2: each matched frame stands for 2 source frames: the blip alone is seen 5 * 2 / 10 = 1.0 s
    assert count([blip], vid_stride=2, min_seen_s=1.0).classes["student"].present == 1


def test_of_two_ended_fragments_the_closest_centre_wins():
    left = frag(1, 0, 99)  # SEAT, centre (120, 140), ended last (frame 99): gap (110 - 99) / 10 = 1.1 s
    right_box = (150.0, 100.0, 190.0, 180.0)  # centre (170, 140); widened x 130..210
    right = frag(2, 5, 95, box=right_box)  # number 2, ended first (frame 95): gap (110 - 95) / 10 = 1.5 s
    between = frag(3, 110, 299, box=(130.0, 100.0, 170.0, 180.0))  # centre (150, 140): inside both widened boxes
    # distance to left: |150 - 120| = 30; to right: |150 - 170| = 20: right wins, though left is first and later
    assert chains([left, right, between]) == [(1,), (2, 3)]


def test_a_fragment_is_continued_at_most_once_and_never_by_a_track_alive_with_it():
    first = frag(2, 110, 299)  # gap (110 - 99) / 10 = 1.1 s: continues BEFORE
    second = frag(3, 112, 299)  # also near BEFORE's end, but BEFORE is continued; track 2 is still alive at 112
    assert chains([BEFORE, first, second]) == [(1, 2), (3,)]
    # a track that starts before another's last frame (alive together) is two people, however close
    assert chains([frag(1, 0, 99), frag(2, 99, 299)]) == [(1,), (2,)]


def test_identities_are_numbered_in_order_of_first_appearance_over_classes():
    tracks = [frag(7, 50, 299, name="desk", box=NEXT_SEAT), AFTER, BEFORE, frag(4, 10, 20, box=NEXT_SEAT)]
    identities = relink(tracks, lost_s=2.0, fps=10.0)
    # first frames: BEFORE 0, track 4 10, desk 50 (AFTER continues BEFORE)
    assert [(i.number, i.class_name, i.track_ids) for i in identities] == [
        (1, "student", (1, 2)),
        (2, "student", (4,)),
        (3, "desk", (7,)),
    ]
    assert (identities[0].first_frame, identities[0].last_frame) == (0, 299)
    assert identities[0].seen_s(fps=10.0, vid_stride=1) == pytest.approx(28.6)  # (100 + 186) / 10


def test_per_minute_of_a_130_s_video_at_10_fps():
    # 130 s at 10 fps: frame ids 0..1299; minute m holds int(frame_id / 10 // 60) == m: 0..599, 600..1199, 1200..1299
    tracks = [
        frag(1, 0, 1299),  # the whole video: minutes 0, 1, 2
        frag(2, 650, 700, box=NEXT_SEAT),  # 65..70 s, 5.1 s ...
        frag(3, 715, 1150, box=NEXT_SEAT),  # ... gap (715 - 700) / 10 = 1.5 s: one identity, 65..115 s: minute 1
        frag(4, 1190, 1210, box=(500.0, 100.0, 540.0, 180.0)),  # 119..121 s, 21 frames 2.1 s: minutes 1 and 2
        frag(5, 100, 104, box=(700.0, 100.0, 740.0, 180.0)),  # 0.5 s: not present, not in minute 0
    ]
    hc = count(tracks, frames_total=1300)
    student = hc.classes["student"]
    # minute 0: track 1; minute 1: tracks 1, 2+3, 4; minute 2: tracks 1, 4
    assert (student.per_minute, student.present, student.fragments, student.relinked) == ([1, 3, 2], 3, 5, 1)
    assert hc.minutes == 3 and hc.classes["desk"].per_minute == [0, 0, 0]  # a class with no track: zeros
    # without frames_total: up to the last frame of any track, 1299: the same 3 minutes
    assert count(tracks).classes["student"].per_minute == [1, 3, 2]
    # a 190 s video (1900 frames): minute_of(1899) = int(189.9 // 60) = 3: four minutes, the last empty
    assert count(tracks, frames_total=1900).classes["student"].per_minute == [1, 3, 2, 0]


def test_no_tracks_gives_zeros_and_to_dict_gives_plain_values():
    assert count([]).to_dict() == {
        "student": {"present": 0, "per_minute": [], "fragments": 0, "relinked": 0},
        "desk": {"present": 0, "per_minute": [], "fragments": 0, "relinked": 0},
    }
    assert count([], frames_total=600).to_dict()["desk"]["per_minute"] == [0]  # 60 s: minute 0 only


def test_a_track_of_a_class_not_asked_for_is_refused():
    with pytest.raises(ValueError, match=r"track 2 is a 'sitae', not one of \['student', 'desk'\]"):
        count([BEFORE, frag(2, 0, 9, name="sitae")])


def test_a_track_after_the_video_s_last_frame_is_refused():
    with pytest.raises(ValueError, match="track 2 ends at frame id 299, after the video's 200 frames"):
        count([frag(1, 0, 99), frag(2, 114, 299)], frames_total=200)
