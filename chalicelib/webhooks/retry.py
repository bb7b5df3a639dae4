"""When a failed webhook delivery is tried again, and when a subscription counts as paused.

The schedule, after the n-th failed attempt in a row (the wait is drawn between half the
nominal wait and all of it, so receivers coming back are not met by every retry at once):

    failure   1     2      3      4      5      6       7       8 and later
    nominal   30 s  1 min  2 min  4 min  8 min  16 min  32 min  1 h (the cap)

Attempts stop when the next one would start more than 24 hours after the first: a
notification is about a calendar change, and a day late it is history rather than news (the
audit log and the inbox keep it). A receiver that never answers gets 30 attempts (every
wait at its longest) to 54 (every wait at its shortest), the first one included.

Separately, a subscription whose deliveries have failed without a single success for 24 hours
is paused: new notifications are not sent to it until someone looks at it.

Times are datetimes; `random` is injected (random.random in production) so tests can fix it.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

FIRST_WAIT = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=24)
PAUSE_AFTER = timedelta(hours=24)
# 2**7 * 30 s is past the cap already; a bound on the exponent keeps huge counts cheap.
_DOUBLINGS_TO_CAP = 7


def backoff(failed_attempts: int, random: Callable[[], float]) -> timedelta:
    """The wait after `failed_attempts` failures in a row: doubling from FIRST_WAIT up to
    LONGEST_WAIT, times a jitter factor from ½ to 1 drawn with `random` (a number in [0, 1])."""
    if failed_attempts < 1:
        raise ValueError(f"a wait follows a failed attempt, not {failed_attempts} of them")
    draw = random()
    if not 0 <= draw <= 1:
        raise ValueError(f"random must give a number from 0 to 1, not {draw}")
    nominal = min(LONGEST_WAIT, FIRST_WAIT * (1 << min(failed_attempts - 1, _DOUBLINGS_TO_CAP)))
    return nominal * (0.5 + 0.5 * draw)


def next_attempt_at(
    first_attempt_at: datetime,
    last_attempt_at: datetime,
    failed_attempts: int,
    random: Callable[[], float],
) -> datetime | None:
    """When to try a delivery again after `failed_attempts` failures, the last one at
    `last_attempt_at`; None when that would be more than GIVE_UP_AFTER after the first."""
    following = last_attempt_at + backoff(failed_attempts, random)
    return following if following - first_attempt_at <= GIVE_UP_AFTER else None


def is_paused(failing_since: datetime | None, now: datetime) -> bool:
    """Whether a subscription failing since `failing_since` (its first failure after its last
    success; None while it is healthy) has failed continuously for PAUSE_AFTER."""
    return failing_since is not None and now - failing_since >= PAUSE_AFTER
