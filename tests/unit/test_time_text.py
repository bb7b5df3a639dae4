"""Times typed as free text by users ("오후 3:00", "3pm-5pm") read as wall-clock start and end."""

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from chalicelib.calendar.time_text import read_times

HHMM = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]")


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("오후 3:00", "15:00"),
        ("오후 3시", "15:00"),
        ("오전 9시 30분", "09:30"),
        ("오후 3시 반", "15:30"),
        ("오후3시반", "15:30"),
        ("15:00", "15:00"),
        ("15시", "15:00"),
        ("9:05", "09:05"),
        ("3:00 PM", "15:00"),
        ("3:00pm", "15:00"),
        ("3 PM", "15:00"),
        ("3pm", "15:00"),
        ("3 p.m.", "15:00"),
        ("11 a.m.", "11:00"),
        ("12 AM", "00:00"),
        ("12 PM", "12:00"),
        ("오후 12시", "12:00"),
        ("오전 12시", "00:00"),
        ("정오", "12:00"),
        ("자정", "00:00"),
        ("아침 8시", "08:00"),
        ("점심 12시", "12:00"),
        ("점심 1시", "13:00"),
        ("저녁 7시", "19:00"),
        ("밤 10시", "22:00"),
        ("밤 12시", "00:00"),
        ("새벽 2시", "02:00"),
        ("낮 2시", "14:00"),
        ("  오후 3시\t", "15:00"),
        ("１５：００", "15:00"),
        ("오후 3시부터", "15:00"),
        ("오후 3시 부터", "15:00"),
    ],
)
def test_a_single_time_gives_a_start_and_no_end(text, start):
    assert read_times(text) == (start, None)


def test_korean_written_in_decomposed_jamo_reads_the_same():
    # Given "오후 3시" as some keyboards and macOS file names store it: NFD, one jamo a character
    text = "\u110b\u1169\u1112\u116e 3\u1109\u1175"
    # When / Then
    assert read_times(text) == ("15:00", None)


@pytest.mark.parametrize(
    ("text", "times"),
    [
        ("15:00-17:00", ("15:00", "17:00")),
        ("오후 3시~5시", ("15:00", "17:00")),
        ("오후 3:00 ~ 오후 5:00", ("15:00", "17:00")),
        ("오전 11시 ~ 오후 1시", ("11:00", "13:00")),
        ("3pm-5pm", ("15:00", "17:00")),
        ("3pm-5", ("15:00", "17:00")),
        ("오후 3시 – 5시", ("15:00", "17:00")),
        ("오후 3시〜5시", ("15:00", "17:00")),
        ("１５：００～１７：００", ("15:00", "17:00")),
        ("오후 3시부터 5시까지", ("15:00", "17:00")),
        ("오후 3시 부터 오후 5시 30분 까지", ("15:00", "17:30")),
        ("오후 3시~5시까지", ("15:00", "17:00")),
        ("정오~1시", ("12:00", "13:00")),
        # Carrying 오전 would make 17시 "오전 17시", which does not exist: it stays 17:00.
        ("오전 9시~17시", ("09:00", "17:00")),
    ],
)
def test_a_range_gives_a_start_and_an_end(text, times):
    assert read_times(text) == times


@pytest.mark.parametrize(
    "text",
    ["오후 5시~3시", "17:00-15:00", "15:00-15:00", "오전 11시~1시", "11am-1"],
)
def test_a_range_whose_end_is_not_after_its_start_keeps_only_the_start(text):
    # Given a range that ends before it starts (or a midnight wrap, which has no date here)
    # When it is read
    times = read_times(text)
    # Then the start stands and the end is dropped
    assert times is not None
    assert times[1] is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "종일",
        "미정",
        "점심 이후",
        "25:00",
        "24:00",
        "13 PM",
        "0 AM",
        "오후 13시",
        "오후 3 PM",
        "3",
        "3-5pm",
        "회의 오후 3시",
        "오후 3시 회의",
        "9:60",
        "9시 60분",
        "오후 3시~",
        "오후 3시~회의",
        "오후 5시까지",
        "오후 3시" + " " * 200,
        "1" * 10_000,
    ],
)
def test_text_that_is_not_wholly_a_time_gives_none(text):
    assert read_times(text) is None


@given(st.text())
@example("오후 3시~5시")
@example("３ｐｍ－５ｐｍ")
def test_any_text_reads_as_nothing_or_as_valid_times(text):
    """Whatever a user typed, reading it never raises and never yields an impossible time."""
    times = read_times(text)
    if times is not None:
        start, end = times
        assert HHMM.fullmatch(start)
        assert end is None or (HHMM.fullmatch(end) and end > start)


@given(st.integers(0, 23), st.integers(0, 59))
def test_every_24_hour_time_reads_back_as_itself(hour, minute):
    # Given a time written the plain 24-hour way, hour without a leading zero
    text = f"{hour}:{minute:02d}"
    # When / Then
    assert read_times(text) == (f"{hour:02d}:{minute:02d}", None)


@given(st.integers(1, 12), st.integers(0, 59))
def test_korean_and_english_afternoons_agree(hour, minute):
    # Given the same afternoon time in Korean and in English
    korean, english = f"오후 {hour}시 {minute}분", f"{hour}:{minute:02d} PM"
    # When / Then
    assert read_times(korean) == read_times(english) == (f"{hour % 12 + 12}:{minute:02d}", None)
