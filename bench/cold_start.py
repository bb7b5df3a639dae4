"""Section 1: what `import app` costs a fresh interpreter (Lambda's INIT), next to the floor
every DynamoDB Lambda pays anyway: importing boto3 and building a DynamoDB client."""

import re
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass

from bench.harness import REGION
from bench.report import PROJECT_DIR, Row, median, ratio, verdict

SECTION = "cold start"
TARGET_RATIO = 1.25

APP = "import app"
FLOOR = f"import boto3; boto3.client('dynamodb', region_name={REGION!r})"
# Like for like with the floor: INIT plus the client the first request builds. What only some
# requests need (the models, pydantic, the calendar rules) loads when they first need it.
APP_AND_CLIENT = "import app; from chalicelib.context import get_context; get_context()"

# Like Lambda's environment: a region and nothing else of ours (no .env, no endpoints).
LAMBDA_LIKE_ENV = {"PATH": "/usr/bin:/bin", "AWS_REGION": REGION, "LANG": "C.UTF-8"}

_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def fresh_process_seconds(code: str) -> float:
    """Wall time of a new interpreter that runs `code`: start-up included, as in INIT."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_DIR,
        env=LAMBDA_LIKE_ENV,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def alternating_medians(snippets: list[str], runs: int) -> dict[str, float]:
    """Each snippet `runs` times, interleaved and in rotating order, so drift in the machine's
    load hits all of them alike. One unmeasured run each first warms the file cache."""
    for code in snippets:
        fresh_process_seconds(code)
    samples: dict[str, list[float]] = defaultdict(list)
    for run in range(runs):
        shift = run % len(snippets)
        for code in snippets[shift:] + snippets[:shift]:
            samples[code].append(fresh_process_seconds(code))
    return {code: median(values) for code, values in samples.items()}


@dataclass(frozen=True)
class ImportCost:
    module: str
    self_ms: float
    cumulative_ms: float


def import_costs(code: str, repeats: int = 3) -> list[ImportCost]:
    """`python -X importtime -c CODE`, per module the median over `repeats` runs."""
    self_us: dict[str, list[int]] = defaultdict(list)
    cumulative_us: dict[str, list[int]] = defaultdict(list)
    for _ in range(repeats):
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code],
            cwd=PROJECT_DIR,
            env=LAMBDA_LIKE_ENV,
            check=True,
            capture_output=True,
            text=True,
        )
        for line in result.stderr.splitlines():
            match = _IMPORT_LINE.match(line)
            if match:
                self_us[match[4]].append(int(match[1]))
                cumulative_us[match[4]].append(int(match[2]))
    return [
        ImportCost(module, median(self_us[module]) / 1000, median(cumulative_us[module]) / 1000)
        for module in cumulative_us
    ]


def run(runs: int = 15) -> list[Row]:
    medians = alternating_medians([APP, FLOOR, APP_AND_CLIENT], runs)
    app, floor, app_and_client = medians[APP], medians[FLOOR], medians[APP_AND_CLIENT]
    rows = [
        Row(
            SECTION,
            "`import app` + first client (get_context), fresh process, median",
            f"{app_and_client * 1000:.0f} ms",
            baseline=f"{floor * 1000:.0f} ms",
            versus=ratio(app_and_client, floor),
            target=f"<= {TARGET_RATIO}x",
            verdict=verdict(app_and_client / floor <= TARGET_RATIO),
            note=f"baseline: import boto3 + boto3.client('dynamodb'); {runs} alternating runs",
            data={"app_and_client_s": app_and_client, "floor_s": floor, "runs": runs},
        ),
        Row(
            SECTION,
            "`import app` alone",
            f"{app * 1000:.0f} ms",
            baseline=f"{floor * 1000:.0f} ms",
            versus=ratio(app, floor),
            note="INIT without the client, next to the floor that has one: for scale only",
            data={"app_s": app},
        ),
    ]
    costs = sorted(import_costs(APP_AND_CLIENT), key=lambda cost: cost.cumulative_ms, reverse=True)
    for rank, cost in enumerate(costs[:10], start=1):
        rows.append(
            Row(
                SECTION,
                f"importtime #{rank}: {cost.module}",
                f"{cost.cumulative_ms:.1f} ms cumulative",
                note=f"self {cost.self_ms:.1f} ms (python -X importtime, median of 3)",
                data={"module": cost.module, "self_ms": cost.self_ms, "cum_ms": cost.cumulative_ms},
            )
        )
    # Cumulative times nest (app contains everything); self times say where the work is.
    heaviest = sorted(costs, key=lambda cost: cost.self_ms, reverse=True)[:8]
    rows.append(
        Row(
            SECTION,
            "importtime: largest self times",
            ", ".join(f"{cost.module} {cost.self_ms:.1f}" for cost in heaviest) + " (ms)",
            data={"self_ms": {cost.module: cost.self_ms for cost in heaviest}},
        )
    )
    # What INIT and the first client load beyond what the floor loads anyway, per package.
    app_packages = self_time_by_package(costs)
    floor_packages = self_time_by_package(import_costs(FLOOR))
    added = {name: ms - floor_packages.get(name, 0.0) for name, ms in app_packages.items()}
    largest = sorted(added.items(), key=lambda item: item[1], reverse=True)[:8]
    rows.append(
        Row(
            SECTION,
            "importtime: what the app adds over the floor",
            ", ".join(f"{name} +{ms:.0f}" for name, ms in largest) + " (ms)",
            note="self times summed per top-level package, app minus floor (median of 3 each)",
            data={"added_self_ms_by_package": added},
        )
    )
    return rows


def self_time_by_package(costs: list[ImportCost]) -> dict[str, float]:
    """Self times summed per top-level package; the standard library as one."""
    totals: dict[str, float] = defaultdict(float)
    for cost in costs:
        top = cost.module.split(".")[0]
        totals["(stdlib)" if top in sys.stdlib_module_names else top] += cost.self_ms
    return totals
