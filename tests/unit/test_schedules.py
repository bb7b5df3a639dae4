"""ops/schedules.py runs an app's @app.schedule functions on their rate, as EventBridge does."""

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
        calls.append("cron")

    return app


def test_each_rate_runs_once_per_period_from_one_period_after_start_and_cron_is_left_out():
    # Given an app with a one-minute, a two-hour and a cron schedule
    calls: list[str] = []
    clock = Clock()
    lines: list[str] = []
    schedules = Schedules(app_with_schedules(calls), log=lines.append, clock=clock)
    # Then the cron one is reported and not run
    assert [s.name for s in schedules.schedules] == ["every_minute", "every_two_hours"]
    assert any("at_nine" in line for line in lines)
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
