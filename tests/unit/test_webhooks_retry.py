"""When failed deliveries are retried, when they stop, and when a subscription is paused."""

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.webhooks.retry import backoff, is_paused, next_attempt_at

FIRST_ATTEMPT = datetime(2024, 1, 25, 9, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


def lowest() -> float:
    return 0.0


def highest() -> float:
    return 1.0


def test_the_wait_doubles_from_30_seconds_up_to_an_hour():
    waits = [backoff(failures, highest) for failures in range(1, 11)]
    assert [int(wait.total_seconds()) for wait in waits] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
        3600,
    ]


def test_jitter_spreads_each_wait_between_half_and_all_of_it():
    assert backoff(1, lowest) == timedelta(seconds=15)
    assert backoff(1, lambda: 0.5) == timedelta(seconds=22.5)
    assert backoff(10, lowest) == timedelta(minutes=30)


def test_a_very_long_run_of_failures_still_waits_at_most_an_hour():
    assert backoff(10_000, highest) == timedelta(hours=1)


@pytest.mark.parametrize("random", [lowest, highest])
def test_attempts_fill_the_first_day_and_then_stop(random):
    # Given a receiver that fails every attempt, retried as the schedule says
    attempts = [FIRST_ATTEMPT]
    while (
        following := next_attempt_at(FIRST_ATTEMPT, attempts[-1], len(attempts), random)
    ) is not None:
        attempts.append(following)
    # Then no attempt is later than a day after the first, and the last hour of it is used
    assert attempts[-1] - FIRST_ATTEMPT <= DAY
    assert attempts[-1] - FIRST_ATTEMPT > DAY - timedelta(hours=1)
    assert attempts == sorted(attempts)
    assert 30 <= len(attempts) <= 54


def test_the_next_attempt_comes_after_the_last_one_by_the_backoff():
    last = FIRST_ATTEMPT + timedelta(minutes=3)
    assert next_attempt_at(FIRST_ATTEMPT, last, 3, highest) == last + timedelta(minutes=2)


def test_no_attempt_is_scheduled_past_a_day_from_the_first():
    # Given a failure 23 h 59 min after the first attempt
    last = FIRST_ATTEMPT + DAY - timedelta(minutes=1)
    # Then even the shortest wait would be too late: give up
    assert next_attempt_at(FIRST_ATTEMPT, last, 30, lowest) is None
    # But a wait that ends exactly at the day's end is still taken
    last = FIRST_ATTEMPT + DAY - timedelta(seconds=30)
    assert next_attempt_at(FIRST_ATTEMPT, last, 1, highest) == FIRST_ATTEMPT + DAY


def test_the_schedule_refuses_nonsense_inputs():
    with pytest.raises(ValueError, match="failed attempt"):
        backoff(0, highest)
    with pytest.raises(ValueError, match="from 0 to 1"):
        backoff(1, lambda: 1.5)


def test_a_subscription_is_paused_after_a_full_day_of_failures():
    failing_since = FIRST_ATTEMPT
    assert not is_paused(failing_since, failing_since + DAY - timedelta(seconds=1))
    assert is_paused(failing_since, failing_since + DAY)
    assert is_paused(failing_since, failing_since + DAY * 3)


def test_a_healthy_subscription_is_never_paused():
    assert not is_paused(None, FIRST_ATTEMPT + DAY * 30)
