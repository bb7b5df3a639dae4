"""ops/schedules.py runs an app's @app.schedule functions on their rate, as EventBridge does."""

from datetime import UTC, datetime

from chalice.app import Chalice, Cron, Rate

from ops.schedules import Schedules


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def app_with_schedules(calls: list[str]) -> Chalice:
    app = Chalice(app_name="schedules-test")

    @app.schedule(Rate(1, unit=Rate.MINUTES))
    def every_minute(event):
        calls.append(f"minute:{event.detail_type}")

    @app.schedule(Rate(2, unit=Rate.HOURS))
    def every_two_hours(event):
        calls.append("hours")
        raise RuntimeError("receiver down")

    @app.schedule(Cron(0, 9, "*", "*", "?", "*"))
    def at_nine(event):
        calls.append("daily")

    @app.schedule(Cron(0, 9, "?", "*", "MON-FRI", "*"))
    def weekdays(event):
        calls.append("weekdays")

    return app


def test_each_rate_runs_once_per_period_and_a_daily_cron_at_its_hour():
    # Given an app with a one-minute, a two-hour, a daily 09:00 UTC and a weekday schedule,
    # started at 08:30 UTC
    calls: list[str] = []
    clock = Clock()
    lines: list[str] = []
    started = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    schedules = Schedules(
        app_with_schedules(calls), log=lines.append, clock=clock, wall=lambda: started
    )
    # Then the weekday cron is reported and not run; the others are kept
    names = [s.name for s in schedules.schedules]
    assert names == ["every_minute", "every_two_hours", "at_nine"]
    assert any("weekdays" in line for line in lines)
    # When no period has passed, nothing runs
    assert schedules.run_due() == 0
    # When a minute passes, the one-minute schedule runs with a scheduled event
    clock.now += 60
    assert schedules.run_due() == 1
    assert calls == ["minute:Scheduled Event"]
    # When two hours pass, the two-hour one runs too, and its failure is reported, not raised
    clock.now += 2 * 3600
    schedules.run_due()
    assert "hours" in calls
    assert any("every_two_hours" in line and "receiver down" in line for line in lines)
    # And the daily one ran once, at 09:00 (half an hour after the start), not again that day
    assert calls.count("daily") == 1
    clock.now += 3600
    schedules.run_due()
    assert calls.count("daily") == 1
