"""Section `capacity`: how much traffic the app takes before one DynamoDB key value, one stream
or the account's defaults give way, and what that traffic costs a month.

Computed, not guessed: bench/capacity_profile.py runs each operation of the app once (the real
routes, stream handlers and deliveries) and charges the requests it really makes by DynamoDB's
rules (bench/capacity_units.py). This module multiplies those unit costs by a traffic mix.

The mix (every default can be changed on the command line):
- changes: 10,000 event writes a second, 30% creates, 60% updates (a PATCH), 10% deletes;
- reads: as many as changes (a calendar is read at least as often as it is changed), 70% event
  list pages of 50, 20% single events, 5% departments, 5% inbox pages;
- 10,000 departments, the department of rank k getting k^-s / H(N, s) of everything (Zipf,
  s = 1.1), 200 events each; one webhook subscription per department.

Per partition key value, by what the key carries (chalicelib/tables.py):
- `department`, `subscription`: the top department's share of the traffic that touches it;
- `item`: one event's share of it, the top department's rate / events per department;
- `day`, `global`: all of it;
each divided by the key's `shards` (1 with --unsharded). A key declared `item` whose value two
different events of one department both write is counted as `department`: that is what it
carries. A Scan is counted on one key value (every first page starts at the same place).
The limits are DynamoDB's per partition: 1,000 write and 3,000 read units a second.

Lambda: requests/s × a mean duration (0.1 s: the throughput section's ~6 ms of CPU per request
on a full core, times 14 at 128 MB, which gets about 1/14 of a vCPU), stream records × seconds
per record (0.02 s for the audit handlers: the stream section's ~1.5 ms per record on a full
core, times 14; 0.1 s for deliveries, which also wait for the receiver, 8 at a time). About one
stream shard per table partition; Lambda runs ParallelizationFactor batches of a shard at once
(ops/deploy/steps.py) and keeps one item's records in order, in one of them.

Prices (USD, Seoul, ap-northeast-2, on-demand; read 2026-11-30; free tiers left out):
- DynamoDB: $0.68 per million write request units, $0.1355 per million read request units, as
  the AWS Price List gives them for ap-northeast-2 (APN2-WriteRequestUnits $0.00000068 and
  APN2-ReadRequestUnits $0.0000001355 each, list of 2026-06-12). Stream reads by Lambda are free.
- Lambda (x86): $0.0000166667 per GB-second, the standard rate, which Seoul is charged at;
  $0.20 per million requests: not confirmed for Seoul; pass --price-lambda-requests-per-million.
- API Gateway REST: $3.50 per million for the first 333 million a month, $2.80 for the next
  667 million, $2.38 for the next 19 billion, $1.51 beyond: AWS's published table, not
  confirmed for Seoul; pass --price-api-per-million.
"""

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from bench.capacity_profile import (
    DELIVERY_HANDLER,
    DEPARTMENT_GET,
    EVENT_CREATE,
    EVENT_CREATE_AGAIN,
    EVENT_DELETE,
    EVENT_GET,
    EVENT_LIST,
    EVENT_UPDATE,
    NOTIFICATIONS_READ,
    OperationCost,
    Profile,
)
from bench.report import PROJECT_DIR
from chalicelib.tables import Carries, TableDefinition

SECTION = "capacity"
WRITE_LIMIT = 1_000.0  # write units per second one partition key value can take
READ_LIMIT = 3_000.0
# Account and table defaults in a region (all can be raised on request).
ACCOUNT_CONCURRENCY = 1_000
API_GATEWAY_REQUESTS = 10_000
TABLE_UNITS = 40_000
SECONDS_PER_MONTH = 30 * 24 * 3600
# Lambda polls each stream shard about four times a second.
POLLS_PER_SECOND = 4.0
CHALICE_DEFAULT_MEMORY_MB = 128
PRICES_READ_ON = "2026-11-30"


# --- the traffic mix ---------------------------------------------------------------------------


def harmonic(departments: int, s: float) -> float:
    """H(N, s) = sum of k^-s for k = 1..N: the Zipf weights' total."""
    return math.fsum(k**-s for k in range(1, departments + 1))


def department_share(rank: int, departments: int, s: float) -> float:
    """The share of all traffic the department of `rank` (1: the busiest) gets."""
    return float(rank**-s) / harmonic(departments, s)


@dataclass(frozen=True)
class Mix:
    changes_per_second: float = 10_000.0
    # None: as many reads as changes.
    reads_per_second: float | None = None
    departments: int = 10_000
    zipf: float = 1.1
    events_per_department: int = 200
    unsharded: bool = False
    change_split: tuple[tuple[str, float], ...] = (
        (EVENT_CREATE, 0.3),
        (EVENT_UPDATE, 0.6),
        (EVENT_DELETE, 0.1),
    )
    read_split: tuple[tuple[str, float], ...] = (
        (EVENT_LIST, 0.7),
        (EVENT_GET, 0.2),
        (DEPARTMENT_GET, 0.05),
        (NOTIFICATIONS_READ, 0.05),
    )

    @property
    def reads(self) -> float:
        return self.changes_per_second if self.reads_per_second is None else self.reads_per_second

    @property
    def top_share(self) -> float:
        return department_share(1, self.departments, self.zipf)

    def rates(self) -> dict[str, float]:
        """API requests per second, per operation."""
        rates: dict[str, float] = {}
        for name, share in self.change_split:
            rates[name] = rates.get(name, 0.0) + self.changes_per_second * share
        for name, share in self.read_split:
            rates[name] = rates.get(name, 0.0) + self.reads * share
        return rates

    def active_rates(self) -> dict[str, float]:
        """The operations the mix really has (a share of 0 measures nothing)."""
        return {name: rate for name, rate in self.rates().items() if rate > 0}

    @property
    def api_requests_per_second(self) -> float:
        return sum(self.rates().values())

    def at(self, changes_per_second: float) -> "Mix":
        """The same mix at another rate of changes, reads scaled in the same ratio."""
        return replace(
            self,
            changes_per_second=changes_per_second,
            reads_per_second=self.reads * changes_per_second / self.changes_per_second,
        )

    def key_share(self, carries: str) -> float:
        """The share of a table's traffic that one partition key value carrying `carries` gets,
        before it is spread over shards."""
        if carries in ("department", "subscription"):
            return self.top_share
        if carries == "item":
            return self.top_share / self.events_per_department
        return 1.0  # day, global: everybody's


# --- per partition key value ------------------------------------------------------------------


@dataclass(frozen=True)
class KeyLoad:
    """Units per second on one table or index: in all, and on its busiest key value."""

    table: str
    index: str | None
    carries: str
    declared: Carries
    shards: int
    write_total: float
    read_total: float
    write_peak: float
    read_peak: float

    @property
    def name(self) -> str:
        return self.table if self.index is None else f"{self.table}/{self.index}"

    @property
    def headroom(self) -> float:
        """How many times the current traffic the busiest key value can take."""
        ratios = [
            limit / peak
            for limit, peak in ((WRITE_LIMIT, self.write_peak), (READ_LIMIT, self.read_peak))
            if peak > 0
        ]
        return min(ratios, default=math.inf)

    @property
    def over(self) -> bool:
        return self.headroom < 1.0


def _targets(definition: TableDefinition) -> list[tuple[str | None, Carries, int]]:
    """The table itself and each of its indexes: (index name, what it carries, shards)."""
    return [
        (None, definition.carries, definition.shards),
        *((index.name, index.carries, index.shards) for index in definition.indexes),
    ]


def observed_carries(profile: Profile) -> dict[str, str]:
    """Keys written under the same value by two different events of one department: they
    carry the department's traffic, whatever is declared."""
    first = _written_values(profile.operation(EVENT_CREATE))
    second = _written_values(profile.operation(EVENT_CREATE_AGAIN))
    return {
        name: "department" for name, values in first.items() if values & second.get(name, set())
    }


def _written_values(cost: OperationCost) -> dict[str, set[str]]:
    values: dict[str, set[str]] = {}
    for charge in cost.all_charges():
        if charge.kind == "write" and charge.key is not None:
            name = charge.table if charge.index is None else f"{charge.table}/{charge.index}"
            values.setdefault(name, set()).add(charge.key)
    return values


def key_loads(profile: Profile, mix: Mix, definitions: Sequence[TableDefinition]) -> list[KeyLoad]:
    """Every table and index of tables.py, with its units per second at the mix."""
    observed = observed_carries(profile)
    return [
        _key_load(profile, mix, definition, target, observed)
        for definition in definitions
        for target in _targets(definition)
    ]


def _key_load(
    profile: Profile,
    mix: Mix,
    definition: TableDefinition,
    target: tuple[str | None, Carries, int],
    observed: Mapping[str, str],
) -> KeyLoad:
    index, declared, declared_shards = target
    name = definition.role if index is None else f"{definition.role}/{index}"
    carries = observed.get(name, declared) if declared == "item" else declared
    shards = 1 if mix.unsharded else declared_shards
    share = mix.key_share(carries) / shards
    totals = {"write": 0.0, "read": 0.0}
    peaks = {"write": 0.0, "read": 0.0}
    for operation, rate in mix.active_rates().items():
        for charge in profile.operation(operation).all_charges():
            if (charge.table, charge.index) != (definition.role, index):
                continue
            totals[charge.kind] += rate * charge.units
            # A Scan has no one key: it starts where every first page starts.
            peaks[charge.kind] += rate * charge.units * (1.0 if charge.key is None else share)
    return KeyLoad(
        definition.role,
        index,
        carries,
        declared,
        shards,
        write_total=totals["write"],
        read_total=totals["read"],
        write_peak=peaks["write"],
        read_peak=peaks["read"],
    )


def holds_up_to(loads: Sequence[KeyLoad], mix: Mix) -> tuple[float, KeyLoad | None]:
    """The most changes per second (reads in proportion) before a key value passes its limit,
    and the table or index that gets there first. Everything scales with the rate, so the
    busiest key value's headroom says it."""
    first = min(loads, key=lambda load: load.headroom, default=None)
    if first is None or math.isinf(first.headroom):
        return math.inf, None
    return mix.changes_per_second * first.headroom, first


# --- Lambda and the streams -------------------------------------------------------------------


def configured_memory_mb(stage: str = "prod") -> int:
    """The functions' memory: .chalice/config.json's, or Chalice's default when it says none."""
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text(encoding="utf-8"))
    stage_config = config.get("stages", {}).get(stage, {})
    memory = stage_config.get("lambda_memory_size", config.get("lambda_memory_size"))
    return int(memory) if memory else CHALICE_DEFAULT_MEMORY_MB


def parallelization_factor() -> int:
    from ops.deploy.steps import mapping_settings

    return int(mapping_settings("arn:aws:sqs:::capacity").get("ParallelizationFactor", 1))


def maximum_record_age_seconds() -> int | None:
    from ops.deploy.steps import mapping_settings

    age = mapping_settings("arn:aws:sqs:::capacity").get("MaximumRecordAgeInSeconds")
    return None if age is None else int(age)


def stream_batch_sizes() -> dict[str, int]:
    """Each stream handler's batch size, as app.py registers it."""
    from chalice.app import DynamoDBEventConfig

    from app import app

    return {
        source.name: source.batch_size
        for source in app.event_sources
        if isinstance(source, DynamoDBEventConfig)
    }


@dataclass(frozen=True)
class LambdaAssumptions:
    api_seconds: float = 0.1
    stream_seconds_per_record: float = 0.02
    delivery_seconds_per_record: float = 0.1
    # None: what .chalice/config.json gives the functions.
    memory_mb: int | None = None

    @property
    def memory_gb(self) -> float:
        memory = self.memory_mb if self.memory_mb is not None else configured_memory_mb()
        return memory / 1024

    def seconds_per_record(self, handler: str) -> float:
        if handler == DELIVERY_HANDLER:
            return self.delivery_seconds_per_record
        return self.stream_seconds_per_record


@dataclass(frozen=True)
class StreamLoad:
    handler: str
    table: str
    records_per_second: float
    shards: int
    parallelization: int
    batch_size: int
    seconds_per_record: float
    # One partition key value's records are in one shard; one item's are in one batch at a time.
    hottest_shard_rate: float
    hottest_item_rate: float

    @property
    def lanes(self) -> int:
        """Batches that can run at once."""
        return self.shards * self.parallelization

    @property
    def concurrency(self) -> float:
        return self.records_per_second * self.seconds_per_record

    @property
    def excess(self) -> float:
        """Records per second beyond what the stream's batches can take (0: it keeps up)."""
        capacity_per_lane = 1 / self.seconds_per_record
        return max(
            0.0,
            self.records_per_second - self.lanes * capacity_per_lane,
            self.hottest_shard_rate - self.parallelization * capacity_per_lane,
            self.hottest_item_rate - capacity_per_lane,
        )

    @property
    def batch(self) -> float:
        """Records in a typical batch: what one lane gathers between two polls."""
        per_lane = self.records_per_second / max(1, self.lanes) / POLLS_PER_SECOND
        return min(float(self.batch_size), max(1.0, per_lane))

    @property
    def invocations_per_second(self) -> float:
        return 0.0 if self.records_per_second == 0 else self.records_per_second / self.batch

    @property
    def lag_seconds(self) -> float:
        """About one poll's wait, then one batch's processing."""
        return 1 / POLLS_PER_SECOND + self.batch * self.seconds_per_record


def _item_share(definition: TableDefinition, carries: str, mix: Mix) -> float:
    """The share of a stream's records one item gets (Lambda keeps an item's records in order,
    so they never run side by side)."""
    if definition.sort_key is None or carries == "item":
        return mix.key_share(carries)
    return 0.0  # each record is an item of its own (the inbox: one per notification)


def stream_loads(
    profile: Profile,
    mix: Mix,
    loads: Sequence[KeyLoad],
    definitions: Sequence[TableDefinition],
    lambdas: LambdaAssumptions,
) -> list[StreamLoad]:
    rates = mix.active_rates()
    by_table = {load.table: load for load in loads if load.index is None}
    batch_sizes = stream_batch_sizes()
    factor = parallelization_factor()
    streams = []
    for definition in definitions:
        if definition.stream_handler is None:
            continue
        records = sum(
            rate * profile.operation(name).stream_records.get(definition.role, 0)
            for name, rate in rates.items()
        )
        table = by_table[definition.role]
        partitions = max(
            1, math.ceil(max(table.write_total / WRITE_LIMIT, table.read_total / READ_LIMIT))
        )
        carries = table.carries
        streams.append(
            StreamLoad(
                handler=definition.stream_handler,
                table=definition.role,
                records_per_second=records,
                shards=partitions,
                parallelization=factor,
                batch_size=batch_sizes.get(definition.stream_handler, 100),
                seconds_per_record=lambdas.seconds_per_record(definition.stream_handler),
                hottest_shard_rate=max(records / partitions, records * mix.key_share(carries)),
                hottest_item_rate=records * _item_share(definition, carries, mix),
            )
        )
    return streams


# --- what it costs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prices:
    write_per_million: float = 0.68
    read_per_million: float = 0.1355
    lambda_requests_per_million: float = 0.20
    lambda_gb_second: float = 0.0000166667
    # (requests a month in this tier, USD per million); None: a flat price instead.
    api_tiers: tuple[tuple[float, float], ...] = (
        (333e6, 3.50),
        (667e6, 2.80),
        (19e9, 2.38),
        (math.inf, 1.51),
    )
    api_per_million: float | None = None


def tiered(count: float, tiers: Sequence[tuple[float, float]]) -> float:
    """The price of `count` requests charged tier after tier (USD per million each)."""
    total, left = 0.0, count
    for size, per_million in tiers:
        taken = min(left, size)
        total += taken * per_million / 1e6
        left -= taken
        if left <= 0:
            break
    return total


@dataclass(frozen=True)
class MonthlyCost:
    parts: tuple[tuple[str, float, str], ...]  # (what, USD a month, how)
    api_requests: float

    @property
    def total(self) -> float:
        return sum(dollars for _, dollars, _ in self.parts)

    @property
    def per_million_api_requests(self) -> float:
        return self.total / (self.api_requests / 1e6) if self.api_requests else 0.0


def monthly_cost(
    mix: Mix,
    loads: Sequence[KeyLoad],
    streams: Sequence[StreamLoad],
    lambdas: LambdaAssumptions,
    prices: Prices,
) -> MonthlyCost:
    month = SECONDS_PER_MONTH
    api = mix.api_requests_per_second * month
    write_units = sum(load.write_total for load in loads) * month
    read_units = sum(load.read_total for load in loads) * month
    invocations = api + sum(stream.invocations_per_second for stream in streams) * month
    busy_seconds = mix.api_requests_per_second * lambdas.api_seconds + sum(
        stream.concurrency for stream in streams
    )
    gb_seconds = busy_seconds * month * lambdas.memory_gb
    if prices.api_per_million is None:
        gateway = tiered(api, prices.api_tiers)
    else:
        gateway = api * prices.api_per_million / 1e6
    parts = (
        (
            "DynamoDB writes",
            write_units * prices.write_per_million / 1e6,
            f"{write_units / 1e9:,.1f} billion write request units (GSI writes included)",
        ),
        (
            "DynamoDB reads",
            read_units * prices.read_per_million / 1e6,
            f"{read_units / 1e9:,.1f} billion read request units",
        ),
        (
            "Lambda requests",
            invocations * prices.lambda_requests_per_million / 1e6,
            f"{invocations / 1e9:,.1f} billion invocations (API + stream batches)",
        ),
        (
            "Lambda duration",
            gb_seconds * prices.lambda_gb_second,
            f"{gb_seconds / 1e6:,.0f} million GB-seconds at {lambdas.memory_gb * 1024:.0f} MB",
        ),
        ("API Gateway (REST)", gateway, f"{api / 1e9:,.1f} billion requests"),
    )
    return MonthlyCost(parts, api)


@dataclass(frozen=True)
class Options:
    mix: Mix = field(default_factory=Mix)
    lambdas: LambdaAssumptions = field(default_factory=LambdaAssumptions)
    prices: Prices = field(default_factory=Prices)
