"""Section 6: the local stack's resident memory as API writes pile up. The whole stack is the
Python process of `manage.py serve` and its DynamoDB Local child (Java): VmRSS of both, read
from /proc, once the stream consumer has caught up with the writes so far (every write's audit
entry is readable), after the first writes and again after all of them."""

import sys
import threading
import time

from bench.audit_watch import EventWriter, Writes, audit_watcher
from bench.report import Row, percentile, verdict
from bench.stacks import Memory, local_stack, mb, on_tmpfs, scratch_dir, stack_memory

SECTION = "local stack memory"
TARGET_GROWTH = 200 * 2**20
# Writers at once, each in a department of its own (no contention on one event counter).
WRITERS = 4
CATCH_UP_SECONDS = 120.0
SETTLE_SECONDS = 1.0


def write_concurrently(writers: list[EventWriter], start: int, stop: int) -> float:
    """Writes number `start` to `stop` - 1, spread over the writers as fast as they go.
    Returns the writes per second."""
    numbers = iter(range(start, stop))
    lock = threading.Lock()
    failures: list[BaseException] = []

    def work(writer: EventWriter) -> None:
        try:
            while not failures:
                with lock:
                    n = next(numbers, None)
                if n is None:
                    return
                writer.write(n)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=work, args=(writer,)) for writer in writers]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return (stop - start) / (time.perf_counter() - began)


def caught_up(pid: int, record: Writes) -> tuple[Memory, bool]:
    """The stack's memory once every write so far shows in the audit log (or after
    CATCH_UP_SECONDS; then False)."""
    done = record.wait_until_seen(CATCH_UP_SECONDS)
    time.sleep(SETTLE_SECONDS)
    return stack_memory(pid), done


def run(first: int = 1000, total: int = 5000, writers: int = WRITERS) -> list[Row]:
    if not 0 < first < total:
        raise ValueError(f"memory: need 0 < first ({first}) < total ({total})")
    data_dir = scratch_dir("bench-memory-", tmpfs=True)
    record = Writes()
    with local_stack(data_dir) as stack:
        fresh = stack_memory(stack.pid)
        watcher = audit_watcher(stack.dynamodb_url, record)
        watcher.start()
        clients: list[EventWriter] = []
        try:
            for i in range(writers):
                clients.append(EventWriter(stack.base_url, record, f"메모리 측정 {i}", seed=i))
            rates = [write_concurrently(clients, 0, first)]
            early, early_done = caught_up(stack.pid, record)
            rates.append(write_concurrently(clients, first, total))
            late, late_done = caught_up(stack.pid, record)
        finally:
            for client in clients:
                client.close()
            watcher.stop()
    print(
        f"  memory: fresh {fresh.breakdown()}, after {first:,} {early.breakdown()}, "
        f"after {total:,} {late.breakdown()}",
        file=sys.stderr,
    )
    growth = late.total - early.total
    lags = record.lags()
    lag_p95 = percentile(lags, 0.95) if lags else float("nan")
    unseen = "" if early_done and late_done else "; the consumer had NOT caught up"
    return [
        Row(
            SECTION,
            f"resident memory of the stack (python + DynamoDB Local), {first:,} → {total:,} "
            "API writes",
            f"{mb(late.total)} after {total:,}",
            baseline=f"{mb(early.total)} after {first:,}",
            versus=f"{'+' if growth >= 0 else '-'}{mb(abs(growth))}",
            target=f"within {mb(TARGET_GROWTH)}",
            verdict=verdict(abs(growth) <= TARGET_GROWTH and early_done and late_done),
            note=(
                f"VmRSS once every write's audit entry was readable{unseen}: after {first:,} "
                f"{early.breakdown()}, after {total:,} {late.breakdown()}; fresh stack "
                f"{mb(fresh.total)}; peak (VmHWM) {mb(sum(late.peaks.values()))}; {writers} "
                f"keep-alive clients writing (40% creates, 60% changes) at {rates[0]:.0f} and "
                f"{rates[1]:.0f}/s; audit lag under that load p95 {lag_p95:.1f} s; data folder "
                f"{'on tmpfs' if on_tmpfs(data_dir) else 'on disk'}"
            ),
            data={
                "writes": [first, total],
                "writers": writers,
                "rates": rates,
                "fresh": fresh.processes,
                "after_first": early.processes,
                "after_total": late.processes,
                "peaks_after_total": late.peaks,
                "growth_bytes": growth,
                "caught_up": [early_done, late_done],
                "audit_lag_p95_s": lag_p95,
            },
        )
    ]
