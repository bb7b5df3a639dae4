"""Section `capacity`, as rows and on the command line: the model (bench/capacity.py) over the
unit costs the profile measures (bench/capacity_profile.py)."""

import argparse
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from bench.capacity import (
    ACCOUNT_CONCURRENCY,
    API_GATEWAY_REQUESTS,
    PRICES_READ_ON,
    READ_LIMIT,
    SECTION,
    TABLE_UNITS,
    WRITE_LIMIT,
    KeyLoad,
    LambdaAssumptions,
    Mix,
    MonthlyCost,
    Options,
    Prices,
    StreamLoad,
    holds_up_to,
    key_loads,
    maximum_record_age_seconds,
    monthly_cost,
    stream_loads,
)
from bench.capacity_profile import FEED_POLL_BUSY, OperationCost, Profile, SpreadSeen
from bench.report import Row
from chalicelib.tables import TableDefinition

# --- the rows ---------------------------------------------------------------------------------


def _n(value: float) -> str:
    if math.isinf(value):
        return "unbounded"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.3g}"


def _units_text(cost: OperationCost) -> str:
    """e.g. 'api: events 2 W, departments 2 W; stream: audit 1 W'."""
    stages = []
    for stage, charges in cost.charges.items():
        totals: dict[tuple[str, str], float] = {}
        for charge in charges:
            name = charge.table if charge.index is None else f"{charge.table}/{charge.index}"
            key = (name, "W" if charge.kind == "write" else "R")
            totals[key] = totals.get(key, 0.0) + charge.units
        if totals:
            parts = ", ".join(f"{name} {units:g} {kind}" for (name, kind), units in totals.items())
            stages.append(f"{stage}: {parts}")
    return "; ".join(stages) or "nothing"


def unit_cost_rows(profile: Profile) -> list[Row]:
    rows = []
    for cost in profile.operations.values():
        writes, reads = cost.units("write"), cost.units("read")
        records = ", ".join(f"{table} {n}" for table, n in cost.stream_records.items() if n)
        rows.append(
            Row(
                SECTION,
                f"units measured: {cost.name}",
                f"{writes:g} W + {reads:g} R units",
                note=f"{_units_text(cost)}; {sum(cost.requests.values())} requests; "
                f"stream records: {records or 'none'}",
                data={
                    "operation": cost.name,
                    "write_units": writes,
                    "read_units": reads,
                    "requests": cost.requests,
                    "stream_records": cost.stream_records,
                },
            )
        )
    return rows


def _mix_row(mix: Mix) -> Row:
    split = ", ".join(f"{share:.0%} {name}" for name, share in mix.change_split)
    reads = ", ".join(f"{share:.0%} {name}" for name, share in mix.read_split)
    return Row(
        SECTION,
        "traffic mix",
        f"{_n(mix.changes_per_second)} changes/s + {_n(mix.reads)} reads/s",
        note=(
            f"changes: {split}; reads: {reads}; {mix.departments:,} departments, Zipf s="
            f"{mix.zipf:g}: the top one gets {mix.top_share:.1%}; {mix.events_per_department} "
            f"events each; {_sharding(mix)}"
        ),
        data={"mix": _mix_data(mix)},
    )


def _sharding(mix: Mix) -> str:
    return "every key as one value (--unsharded)" if mix.unsharded else "shards as declared"


def _mix_data(mix: Mix) -> dict[str, Any]:
    return {
        "changes_per_second": mix.changes_per_second,
        "reads_per_second": mix.reads,
        "departments": mix.departments,
        "zipf": mix.zipf,
        "events_per_department": mix.events_per_department,
        "unsharded": mix.unsharded,
        "top_share": mix.top_share,
    }


def key_rows(loads: Sequence[KeyLoad]) -> list[Row]:
    return [_key_row(load) for load in loads]


def _key_row(load: KeyLoad) -> Row:
    carried = load.carries
    if load.carries != load.declared:
        carried += f" (declared {load.declared}; seen shared by two events)"
    return Row(
        SECTION,
        f"per key value: {load.name}",
        f"{_n(load.write_peak)} W/s, {_n(load.read_peak)} R/s",
        target=f"<= {WRITE_LIMIT:,.0f} W/s, {READ_LIMIT:,.0f} R/s",
        verdict="OVER" if load.over else "ok",
        note=(
            f"carries {carried}, {load.shards} shard(s); all values together "
            f"{_n(load.write_total)} W/s, {_n(load.read_total)} R/s{_table_quota(load)}"
        ),
        data={
            "table": load.table,
            "index": load.index,
            "carries": load.carries,
            "declared": load.declared,
            "shards": load.shards,
            "write_peak": load.write_peak,
            "read_peak": load.read_peak,
            "write_total": load.write_total,
            "read_total": load.read_total,
            "over": load.over,
        },
    )


def _table_quota(load: KeyLoad) -> str:
    if max(load.write_total, load.read_total) <= TABLE_UNITS:
        return ""
    return f" (above the {TABLE_UNITS:,} units/s a table or index gets by default)"


def holds_row(loads: Sequence[KeyLoad], mix: Mix) -> Row:
    changes, first = holds_up_to(loads, mix)
    reads = mix.reads * changes / mix.changes_per_second
    first_name = first.name if first is not None else "none"
    return Row(
        SECTION,
        "holds up to (no key value over its limit)",
        f"{_n(changes)} changes/s (+ {_n(reads)} reads/s)",
        target=f">= {_n(mix.changes_per_second)} changes/s",
        verdict="ok" if changes >= mix.changes_per_second else "OVER",
        note=f"first to saturate: {first_name}"
        + (f" ({first.carries}, {first.shards} shard(s))" if first is not None else ""),
        data={
            "changes_per_second": changes,
            "first": None if first is None else {"table": first.table, "index": first.index},
        },
    )


def feed_row(profile: Profile) -> Row:
    """How many calendar pages of one busy department can stay open (each polls its change feed
    once a second) before the busiest value of the feed index passes its read limit. Not part
    of the mix: a busy department's poll costs what its look-back window holds, whoever reads."""
    from chalicelib.repositories.change_feed import MAX_REMEMBERED
    from chalicelib.tables import AUDIT_FEED_INDEX

    per_value: dict[str, float] = {}
    for charge in profile.operation(FEED_POLL_BUSY).all_charges():
        if charge.kind == "read" and charge.index == AUDIT_FEED_INDEX and charge.key is not None:
            per_value[charge.key] = per_value.get(charge.key, 0.0) + charge.units
    busiest = max(per_value.values())
    pages = READ_LIMIT / busiest
    return Row(
        SECTION,
        "change feed: open pages of one busy department",
        f"{_n(pages)} pages polling once a second",
        note=f"with more than {MAX_REMEMBERED} changes in its look-back window, every poll reads "
        f"{MAX_REMEMBERED} entries again, even with nothing new: {_n(sum(per_value.values()))} "
        f"read units over {len(per_value)} values, {busiest:.1f} on the busiest "
        f"(<= {_n(READ_LIMIT)} R/s)",
        data={"pages": pages, "units_per_value": per_value},
    )


def spread_rows(profile: Profile, definitions: Sequence[TableDefinition]) -> list[Row]:
    """Whether the code really spreads what tables.py says is spread."""
    declared = {d.role: d.shards for d in definitions}
    declared |= {f"{d.role}/{index.name}": index.shards for d in definitions for index in d.indexes}
    rows = []
    for name, seen in profile.spread.items():
        shards = declared.get(name, 1)
        verdict = _spread_verdict(seen, shards)
        rows.append(
            Row(
                SECTION,
                f"spread seen: {name}",
                f"{len(seen.values)} values in {seen.samples} items and writes",
                target=f"{shards} declared",
                verdict=verdict,
                note="the partition key values the profile's items and index writes carried"
                + ("" if verdict else "; too few to tell"),
                data={"values": len(seen.values), "samples": seen.samples, "declared": shards},
            )
        )
    return rows


def _spread_verdict(seen: SpreadSeen, shards: int) -> str:
    """ok: more than one value; OVER: one value where many were expected; "": too few to tell."""
    if seen.samples < 2 * shards:
        return ""
    return "ok" if len(seen.values) > 1 else "OVER"


def lambda_rows(mix: Mix, streams: Sequence[StreamLoad], lambdas: LambdaAssumptions) -> list[Row]:
    api_concurrency = mix.api_requests_per_second * lambdas.api_seconds
    total_concurrency = api_concurrency + sum(stream.concurrency for stream in streams)
    age = maximum_record_age_seconds()
    rows = [
        Row(
            SECTION,
            "API Gateway: requests/s",
            f"{_n(mix.api_requests_per_second)} req/s",
            target=f"<= {API_GATEWAY_REQUESTS:,} (account default, can be raised)",
            verdict="ok" if mix.api_requests_per_second <= API_GATEWAY_REQUESTS else "OVER",
            data={"requests_per_second": mix.api_requests_per_second},
        ),
        Row(
            SECTION,
            "Lambda: API concurrency",
            f"{_n(api_concurrency)} concurrent",
            note=f"{_n(mix.api_requests_per_second)} req/s x {lambdas.api_seconds:g} s each",
            data={"concurrency": api_concurrency},
        ),
    ]
    rows += [_stream_row(stream, age) for stream in streams]
    rows.append(
        Row(
            SECTION,
            "Lambda: concurrency in all",
            f"{_n(total_concurrency)} concurrent",
            target=f"<= {ACCOUNT_CONCURRENCY:,} (account default, can be raised)",
            verdict="ok" if total_concurrency <= ACCOUNT_CONCURRENCY else "OVER",
            note="API + every stream handler at the rates above",
            data={"concurrency": total_concurrency},
        )
    )
    return rows


def _stream_row(stream: StreamLoad, maximum_age: int | None) -> Row:
    keeps_up = stream.excess == 0
    return Row(
        SECTION,
        f"stream: {stream.handler} ({stream.table})",
        f"{_n(stream.records_per_second)} rec/s, needs {_n(stream.concurrency)} concurrent",
        target=(
            f"<= {stream.lanes} batches at once ({stream.shards} shard(s) x "
            f"{stream.parallelization}), one item's records in one"
        ),
        verdict="ok" if keeps_up else "OVER",
        note=(
            f"{_lag(stream, maximum_age)}; {stream.seconds_per_record:g} s/record, batches of up "
            f"to {stream.batch_size}; busiest key's shard {_n(stream.hottest_shard_rate)} rec/s, "
            f"{_busiest_item(stream)}; {_n(stream.invocations_per_second)} invocations/s"
        ),
        data={
            "records_per_second": stream.records_per_second,
            "shards": stream.shards,
            "lanes": stream.lanes,
            "concurrency": stream.concurrency,
            "excess": stream.excess,
            "lag_seconds": stream.lag_seconds if keeps_up else None,
        },
    )


def _lag(stream: StreamLoad, maximum_age: int | None) -> str:
    if stream.excess == 0:
        return f"lag about {stream.lag_seconds:.2f} s (a poll, then a batch of ~{stream.batch:.0f})"
    grows = f"lag grows by {_n(stream.excess)} records/s"
    if maximum_age is None:
        return grows
    return f"{grows}; records older than {maximum_age / 3600:g} h go to the on-failure queue"


def _busiest_item(stream: StreamLoad) -> str:
    if stream.hottest_item_rate == 0:
        return "every record an item of its own"
    return f"busiest item {_n(stream.hottest_item_rate)} rec/s"


def cost_rows(cost: MonthlyCost, prices: Prices) -> list[Row]:
    rows = [
        Row(SECTION, f"monthly cost: {what}", f"${dollars:,.0f}", note=how, data={"usd": dollars})
        for what, dollars, how in cost.parts
    ]
    rows.append(
        Row(
            SECTION,
            "monthly cost: in all (30 days, on-demand)",
            f"${cost.total:,.0f}",
            note=f"${cost.per_million_api_requests:,.2f} per million API requests",
            data={"usd": cost.total, "per_million_api_requests": cost.per_million_api_requests},
        )
    )
    api_price = (
        f"${prices.api_per_million:g}/M"
        if prices.api_per_million is not None
        else "/".join(f"${price:g}" for _, price in prices.api_tiers) + "/M by tier"
    )
    rows.append(
        Row(
            SECTION,
            "prices used",
            f"Seoul (ap-northeast-2), read {PRICES_READ_ON}",
            note=(
                f"DynamoDB ${prices.write_per_million:g}/M write, ${prices.read_per_million:g}/M "
                f"read request units (AWS Price List for ap-northeast-2); Lambda "
                f"${prices.lambda_gb_second:g}/GB-s, ${prices.lambda_requests_per_million:g}/M "
                f"requests (not confirmed for Seoul; pass --price-lambda-requests-per-million); "
                f"API Gateway REST {api_price} (AWS's published table, not confirmed for Seoul; "
                "pass --price-api-per-million); free tiers left out; stream reads by Lambda free"
            ),
        )
    )
    return rows


def capacity_rows(profile: Profile, options: Options) -> list[Row]:
    from chalicelib.settings import get_settings
    from chalicelib.tables import table_definitions

    definitions = table_definitions(get_settings())
    mix = options.mix
    loads = key_loads(profile, mix, definitions)
    streams = stream_loads(profile, mix, loads, definitions, options.lambdas)
    cost = monthly_cost(mix, loads, streams, options.lambdas, options.prices)
    return [
        *unit_cost_rows(profile),
        *spread_rows(profile, definitions),
        _mix_row(mix),
        *key_rows(loads),
        holds_row(loads, mix),
        feed_row(profile),
        *lambda_rows(mix, streams, options.lambdas),
        *cost_rows(cost, options.prices),
    ]


def run(options: Options | None = None) -> list[Row]:
    """Measure the unit costs on a fresh DynamoDB Local, then model the mix."""
    from bench.capacity_profile import measure_profile
    from bench.harness import fresh_dynamodb

    with fresh_dynamodb(tmpfs=True):
        profile = measure_profile()
    return capacity_rows(profile, options or Options())


# --- the command line -------------------------------------------------------------------------

# option → (the dataclass field it sets, its type, help)
_Option = tuple[str, type, str]
_MIX_OPTIONS: Mapping[str, _Option] = {
    "--changes-per-second": ("changes_per_second", float, "event writes per second"),
    "--reads-per-second": (
        "reads_per_second",
        float,
        "API reads per second (default: as many as changes)",
    ),
    "--departments": ("departments", int, "departments sharing the traffic"),
    "--zipf": ("zipf", float, "Zipf exponent s: the department of rank k gets k^-s / H(N, s)"),
    "--events-per-department": ("events_per_department", int, "events of one department"),
}
_LAMBDA_OPTIONS: Mapping[str, _Option] = {
    "--api-seconds": ("api_seconds", float, "mean duration of an API invocation"),
    "--stream-seconds-per-record": (
        "stream_seconds_per_record",
        float,
        "audit handlers, seconds per record",
    ),
    "--delivery-seconds-per-record": (
        "delivery_seconds_per_record",
        float,
        "on_notification, seconds per record",
    ),
    "--lambda-memory-mb": (
        "memory_mb",
        int,
        "function memory (default: .chalice/config.json's, else Chalice's 128)",
    ),
}
_PRICE_OPTIONS: Mapping[str, _Option] = {
    "--price-write-per-million": ("write_per_million", float, "USD per million write units"),
    "--price-read-per-million": ("read_per_million", float, "USD per million read units"),
    "--price-lambda-requests-per-million": (
        "lambda_requests_per_million",
        float,
        "USD per million Lambda requests",
    ),
    "--price-lambda-gb-second": ("lambda_gb_second", float, "USD per Lambda GB-second"),
    "--price-api-per-million": (
        "api_per_million",
        float,
        "USD per million REST API requests, flat (default: AWS's tiers)",
    ),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("capacity", "the traffic mix, Lambda and prices it models")
    for options, defaults in (
        (_MIX_OPTIONS, Mix()),
        (_LAMBDA_OPTIONS, LambdaAssumptions()),
        (_PRICE_OPTIONS, Prices()),
    ):
        for option, (name, kind, text) in options.items():
            default = getattr(defaults, name)
            shown = "" if default is None else f" (default {default:g})"
            group.add_argument(
                option, dest=f"capacity_{name}", type=kind, metavar="N", help=text + shown
            )
    group.add_argument(
        "--unsharded", action="store_true", help="model every key as one value (shards=1)"
    )


def options_from(args: argparse.Namespace) -> Options:
    def chosen(options: Mapping[str, _Option]) -> dict[str, Any]:
        given = {name: getattr(args, f"capacity_{name}", None) for name, _, _ in options.values()}
        return {name: value for name, value in given.items() if value is not None}

    unsharded = bool(getattr(args, "unsharded", False))
    return Options(
        mix=replace(Mix(), **chosen(_MIX_OPTIONS), unsharded=unsharded),
        lambdas=replace(LambdaAssumptions(), **chosen(_LAMBDA_OPTIONS)),
        prices=replace(Prices(), **chosen(_PRICE_OPTIONS)),
    )
