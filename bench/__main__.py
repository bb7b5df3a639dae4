"""`python -m bench [section ...]`: run the benchmark sections (all by default), print one
table, and save it to bench/results.md and bench/results.json.

Sections: cold-start, stream, migration, api-cost, calendar, throughput, memory, capacity,
package. The package section runs last and is skipped when BENCH_SKIP_PACKAGE=1. Nothing here
asserts anything about timing: the numbers are for reading, each next to a baseline measured in
the same run.
"""

import argparse
import os
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime

from bench.harness import isolate_from_aws
from bench.report import Row, heading, markdown_table, save

SECTIONS = (
    "cold-start",
    "stream",
    "migration",
    "api-cost",
    "calendar",
    "throughput",
    "memory",
    "capacity",
    "package",
)


def _runners(args: argparse.Namespace) -> dict[str, Callable[[], list[Row]]]:
    # Imported lazily: each section pulls in what it measures (the app, moto) only when it runs.
    def cold_start() -> list[Row]:
        from bench import cold_start

        return cold_start.run(runs=args.cold_runs)

    def stream() -> list[Row]:
        from bench import stream_lag, stream_processing

        return stream_processing.run(batches=args.stream_batches) + stream_lag.run(
            writes=args.lag_writes, rate=args.lag_rate
        )

    def migration() -> list[Row]:
        from bench import migration

        return migration.run(events=args.migration_events)

    def api_cost() -> list[Row]:
        from bench import api_cost

        return api_cost.run()

    def calendar() -> list[Row]:
        from bench import calendar_cost

        return calendar_cost.run(runs=args.calendar_runs)

    def throughput() -> list[Row]:
        from bench import throughput

        return throughput.run(seconds=args.seconds, events=args.page_events, clients=args.clients)

    def memory() -> list[Row]:
        from bench import memory

        return memory.run(first=args.memory_first, total=args.memory_total)

    def capacity() -> list[Row]:
        from bench import capacity_report

        return capacity_report.run(capacity_report.options_from(args))

    def package() -> list[Row]:
        from bench import package_size

        return package_size.run()

    return {
        "cold-start": cold_start,
        "stream": stream,
        "migration": migration,
        "api-cost": api_cost,
        "calendar": calendar,
        "throughput": throughput,
        "memory": memory,
        "capacity": capacity,
        "package": package,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("sections", nargs="*", metavar="section", help=", ".join(SECTIONS))
    parser.add_argument("--cold-runs", type=int, default=15, help="fresh processes per snippet")
    parser.add_argument("--stream-batches", type=int, default=5, help="batches of 100 records")
    parser.add_argument("--lag-writes", type=int, default=1000, help="API writes for the lag")
    parser.add_argument("--lag-rate", type=float, default=20.0, help="lag writes per second")
    parser.add_argument("--migration-events", type=int, default=10_000)
    parser.add_argument(
        "--calendar-runs", type=int, default=5, help="timed runs of each calendar read"
    )
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="per throughput run (each database)"
    )
    parser.add_argument(
        "--page-events", type=int, default=5000, help="events in the paged department"
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent throughput clients")
    parser.add_argument(
        "--memory-first", type=int, default=1000, help="API writes before the first reading"
    )
    parser.add_argument(
        "--memory-total", type=int, default=5000, help="API writes before the second reading"
    )
    parser.add_argument("--no-save", action="store_true", help="print only")
    # The capacity section's options are defined with the model they set.
    from bench.capacity_report import add_arguments as add_capacity_arguments

    add_capacity_arguments(parser)
    args = parser.parse_args(argv)
    unknown = [s for s in args.sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")

    chosen = [s for s in SECTIONS if s in (args.sections or SECTIONS)]
    skip_package = not args.sections and os.environ.get("BENCH_SKIP_PACKAGE") == "1"
    if skip_package:
        chosen.remove("package")
    isolate_from_aws()
    runners = _runners(args)
    started, clock = datetime.now(UTC), time.perf_counter()
    rows: list[Row] = []
    for section in chosen:
        print(f"… {section}", file=sys.stderr, flush=True)
        section_clock = time.perf_counter()
        try:
            rows += runners[section]()
        except Exception as error:
            # One broken section must not cost the others' numbers: it becomes a row.
            traceback.print_exc()
            rows.append(Row(section, "section failed", f"{type(error).__name__}: {error}"))
        print(f"  {section}: {time.perf_counter() - section_clock:.0f} s", file=sys.stderr)
    if skip_package:
        rows.append(Row("package size", "chalice package", "skipped (BENCH_SKIP_PACKAGE=1)"))
    seconds = time.perf_counter() - clock
    print(heading(started, seconds, chosen))
    print(markdown_table(rows))
    if not args.no_save:
        for path in save(rows, started, seconds, chosen):
            print(f"saved {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
