"""Section 5: how many pages of events the local stack serves, and how fast, to several clients
at once, on DynamoDB Local (what `make run` runs on) next to the same stack on moto's server
(what it ran on before), in one run.

Both are the real local HTTP server (`manage.py serve --port 0`): one on its own DynamoDB
Local, one pointed at a moto server in this process (AWS_ENDPOINT_URL_DYNAMODB). Each holds one
department with the same events, loaded straight into the tables before the stack starts.
"""

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from bench.http_client import HttpClient
from bench.report import Row, percentile, ratio, verdict
from bench.stacks import (
    Stack,
    dynamodb_local_with_department,
    local_stack,
    moto_with_department,
    scratch_dir,
    stack_cpu,
)

SECTION = "local stack throughput"
PAGE = 50
TARGET_RATIO = 10.0
TARGET_P95_MS = 100.0
# DynamoDB Local's JIT compiles the Query path during the first hundred or so requests.
WARM_UP_SECONDS = 2.0

# Builds, inside each client thread, the function that sends one request (True: as expected).
RequestFactory = Callable[[], Callable[[], bool]]


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    latencies: list[float]
    unexpected: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def latency_ms(self, fraction: float) -> float:
        return percentile(self.latencies, fraction) * 1000

    def summary(self) -> str:
        return (
            f"{self.per_second:.1f} req/s, p50 {self.latency_ms(0.5):.0f} / "
            f"p95 {self.latency_ms(0.95):.0f} ms"
        )

    def as_data(self) -> dict[str, float]:
        return {
            "rps": self.per_second,
            "p50_ms": self.latency_ms(0.5),
            "p95_ms": self.latency_ms(0.95),
            "requests": self.requests,
            "seconds": self.seconds,
            "unexpected": self.unexpected,
        }


def load(new_sender: RequestFactory, clients: int, seconds: float) -> Load:
    """`clients` threads send requests back to back for `seconds`, all starting together.
    Requests still out at the deadline are waited for and counted, with the time they took."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    unexpected = [0] * clients
    start = threading.Barrier(clients + 1)
    deadline = 0.0

    def client_loop(index: int) -> None:
        send = new_sender()
        start.wait()
        while time.perf_counter() < deadline:
            asked = time.perf_counter()
            ok = send()
            latencies[index].append(time.perf_counter() - asked)
            unexpected[index] += not ok

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    everything = [latency for per_client in latencies for latency in per_client]
    return Load(len(everything), time.perf_counter() - began, everything, sum(unexpected))


def page_walker(base_url: str, department_id: str, events: int) -> RequestFactory:
    """Each client walks the department's pages with next_token, from the first to the last,
    then starts again at the first; every answer must be 200 with a full page (the last one
    may be shorter) and carry a token exactly when more events follow."""
    pages = -(-events // PAGE)

    def new_sender() -> Callable[[], bool]:
        client = HttpClient(base_url, keep_alive=True)
        first = f"/api/events/{department_id}?limit={PAGE}"
        state: dict[str, str | int | None] = {"token": None, "page": 0}

        def send() -> bool:
            token = state["token"]
            path = first if token is None else f"{first}&next_token={quote(str(token))}"
            status, raw = client.request("GET", path)
            if status != 200:
                state["token"], state["page"] = None, 0
                return False
            body = json.loads(raw)
            page = int(state["page"] or 0) + 1
            last = page == pages
            token = body.get("next_token")
            expected = events - PAGE * (pages - 1) if last else PAGE
            ok = len(body["items"]) == expected and (token is None) == last
            state["token"], state["page"] = (None, 0) if token is None else (token, page)
            return ok

        return send

    return new_sender


def measure(
    stack: Stack, department_id: str, events: int, clients: int, seconds: float
) -> tuple[Load, dict[str, float]]:
    """`seconds` of load, after WARM_UP_SECONDS of the same load whose numbers are dropped;
    and the CPU seconds per request the stack's processes used meanwhile."""
    walker = page_walker(stack.base_url, department_id, events)
    load(walker, clients, WARM_UP_SECONDS)
    before = stack_cpu(stack.pid)
    measured = load(walker, clients, seconds)
    after = stack_cpu(stack.pid)
    per_request = {name: (after[name] - before[name]) / measured.requests for name in after}
    return measured, per_request


def run(seconds: float = 10.0, events: int = 5000, clients: int = 8) -> list[Row]:
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    with dynamodb_local_with_department(events) as (data_dir, department_id):
        timings["DynamoDB Local load"] = time.perf_counter() - clock
        with local_stack(data_dir, keep_data_dir=True) as stack:
            local, cpu = measure(stack, department_id, events, clients, seconds)
    clock = time.perf_counter()
    with moto_with_department(events) as (moto_url, department_id):
        timings["moto load"] = time.perf_counter() - clock
        with local_stack(scratch_dir("bench-moto-stack-"), endpoint=moto_url) as stack:
            moto, _ = measure(stack, department_id, events, clients, seconds)
    print(
        "  loads: " + ", ".join(f"{name} {s:.1f} s" for name, s in timings.items()),
        file=sys.stderr,
    )
    return [_row(local, moto, cpu, events, clients)]


def _row(local: Load, moto: Load, cpu: dict[str, float], events: int, clients: int) -> Row:
    times = local.per_second / moto.per_second if moto.per_second else float("inf")
    p95 = local.latency_ms(0.95)
    missed = [
        name
        for name, met in (("req/s", times >= TARGET_RATIO), ("p95", p95 <= TARGET_P95_MS))
        if not met
    ]
    return Row(
        SECTION,
        f"GET events page of {PAGE} ({events:,} events), {clients} clients: DynamoDB Local vs moto",
        local.summary(),
        baseline=moto.summary(),
        versus=ratio(local.per_second, moto.per_second),
        target=f">= {TARGET_RATIO:.0f}x req/s, p95 <= {TARGET_P95_MS:.0f} ms",
        verdict=verdict(not missed) + (f" ({', '.join(missed)})" if missed else ""),
        note=(
            f"`manage.py serve` over HTTP (keep-alive) for {local.seconds:.0f} s each after "
            f"{WARM_UP_SECONDS:.0f} s of warm-up; every "
            f"client walks the department's {-(-events // PAGE)} pages by next_token and starts "
            f"over; {local.requests} vs {moto.requests} requests, unexpected answers "
            f"{local.unexpected} vs {moto.unexpected}; CPU per page on DynamoDB Local: stack "
            f"Python {cpu['python'] * 1000:.1f} ms + DynamoDB Local {cpu['children'] * 1000:.1f} "
            f"ms ({os.cpu_count()} CPUs); baseline: the same stack on moto's server "
            "(in the bench process, one request at a time); events loaded with BatchWriteItem "
            "before each stack started (DynamoDB Local's files on tmpfs)"
        ),
        data={
            "events": events,
            "clients": clients,
            "page": PAGE,
            "dynamodb_local": local.as_data(),
            "moto": moto.as_data(),
            "dynamodb_local_cpu_s_per_request": cpu,
        },
    )
