"""Wall-clock times in IANA zones → instants, written RFC 3339 with their offset.

Events keep the time people wrote (a date, "HH:MM" and a zone), not an instant: a weekly 10:00
meeting stays at 10:00 across a daylight-saving change. Instants are computed on the way out.
The zone database comes from the system or, where there is none (AWS Lambda's runtime), from
the tzdata package.
"""

from datetime import date, datetime, time
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "Asia/Seoul"


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def is_zone(name: str) -> bool:
    # ZoneInfo also opens paths; only plain IANA names (Area/City, UTC) are zone names here.
    if not name or name.startswith(("/", ".")) or ".." in name or "\\" in name:
        return False
    try:
        zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def moment(day: str, clock: str, zone_name: str) -> datetime:
    """The instant of `clock` ("HH:MM") on `day` ("YYYY-MM-DD") in the zone. A time that a
    daylight-saving change skips keeps the offset from before the change (fold=0)."""
    hours, minutes = clock.split(":")
    return datetime.combine(
        date.fromisoformat(day), time(int(hours), int(minutes)), tzinfo=zone(zone_name)
    )


def rfc3339(instant: datetime) -> str:
    return instant.isoformat(timespec="seconds")
