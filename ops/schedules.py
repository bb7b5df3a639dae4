"""Runs the app's `@app.schedule` functions on their rate, as EventBridge does on AWS.

`chalice local` never runs them; the local stack and the stream worker do, through the same
registered handlers Lambda calls. Rates (`Rate(1, unit=Rate.MINUTES)`), and daily crons at a
fixed UTC hour and minute (`Cron(0, 0, "*", "*", "?", "*")`); other crons are reported and left
out.
"""

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chalice.app import Chalice, Cron, Rate, ScheduledEventConfig
from chalice.local import LambdaContext

Log = Callable[[str], None]
_SECONDS = {Rate.MINUTES: 60, Rate.HOURS: 3600, Rate.DAYS: 86400}


@dataclass
class _Schedule:
    name: str
    every_seconds: float
    next_run: float


class Schedules:
    def __init__(
        self,
        app: Chalice,
        *,
        log: Log = print,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        speedup: float = 1.0,
    ) -> None:
        self._app = app
        self._log = log
        self._clock = clock
        self.runs = 0
        self.schedules: list[_Schedule] = []
        for config in app.event_sources:
            if not isinstance(config, ScheduledEventConfig):
                continue
            expression = config.schedule_expression
            if isinstance(expression, Rate):
                every = expression.value * _SECONDS[expression.unit] / speedup
                # The first run comes one period after start, as on AWS after a deployment.
                self.schedules.append(_Schedule(config.name, every, clock() + every))
                continue
            daily = _daily_time(expression)
            if daily is None:
                log(f"⚠ {config.name}: 매일 같은 시각이 아닌 cron 일정은 로컬에서 건너뜁니다.")
                continue
            now = wall()
            at = now.replace(hour=daily[0], minute=daily[1], second=0, microsecond=0)
            if at <= now:
                at += timedelta(days=1)
            wait = (at - now).total_seconds()
            self.schedules.append(_Schedule(config.name, 86400.0, clock() + wait))

    def run_due(self) -> int:
        """Run every schedule whose time has come; how many ran."""
        ran = 0
        for schedule in self.schedules:
            if self._clock() < schedule.next_run:
                continue
            schedule.next_run += schedule.every_seconds
            self.run_now(schedule.name)
            ran += 1
        return ran

    def run_now(self, name: str) -> None:
        """One call of the scheduled function `name`; a failure is reported, not raised (on AWS
        the next run comes all the same)."""
        context = LambdaContext(name, memory_size=512, max_runtime_ms=900_000)
        # What EventBridge sends a scheduled rule's target.
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "000000000000",
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": "local",
            "resources": [f"arn:aws:events:local:000000000000:rule/{name}"],
            "detail": {},
        }
        try:
            self._app.handler_map[name](event, context)
        except Exception as error:
            self._log(f"⚠ {name} 실패: {type(error).__name__}: {error}")
        self.runs += 1

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.run_due()
            upcoming = min((s.next_run for s in self.schedules), default=self._clock() + 60)
            stop.wait(max(0.05, upcoming - self._clock()))


def _daily_time(expression: object) -> tuple[int, int] | None:
    """(hour, minute) in UTC of a cron that runs once every day, else None."""
    if not isinstance(expression, Cron):
        return None
    every = {"*", "?"}
    fields = (expression.day_of_month, expression.month, expression.day_of_week, expression.year)
    if not all(str(field) in every for field in fields):
        return None
    hour, minute = str(expression.hours), str(expression.minutes)
    if not (hour.isdigit() and minute.isdigit()):
        return None
    return int(hour), int(minute)
