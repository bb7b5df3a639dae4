"""The capacity model's pure parts: DynamoDB's size and unit rules, the Zipf share, and the
arithmetic from unit costs to units per partition key value (bench/capacity*.py)."""

import math

import pytest

from bench.capacity import (
    KeyLoad,
    Mix,
    StreamLoad,
    department_share,
    holds_up_to,
    key_loads,
    tiered,
)
from bench.capacity_profile import (
    EVENT_CREATE,
    EVENT_CREATE_AGAIN,
    EVENT_DELETE,
    EVENT_UPDATE,
    OperationCost,
    Profile,
)
from bench.capacity_units import (
    Charge,
    index_writes,
    item_size,
    item_write,
    items_read,
    key_condition_only,
    number_size,
    queried_partition,
    read_units,
    write_units,
)
from chalicelib.tables import Index, TableDefinition

# --- item sizes, as DynamoDB documents them ---------------------------------------------------


@pytest.mark.parametrize(
    ("item", "size"),
    [
        # A string: the name's UTF-8 bytes and the value's.
        ({"id": {"S": "abc"}}, 2 + 3),
        # Korean takes 3 bytes a syllable in UTF-8; the space 1.
        ({"title": {"S": "팀 회의"}}, 5 + (3 + 1 + 3 + 3)),
        # A number: 1 byte per two significant digits (rounded up), plus 1.
        ({"n": {"N": "123"}}, 1 + (2 + 1)),
        ({"n": {"N": "1.500"}}, 1 + (1 + 1)),  # "15": trailing zeroes are trimmed
        ({"n": {"N": "-0.001"}}, 1 + (1 + 1)),  # "1": so are leading ones
        ({"version": {"N": "12345678"}}, 7 + (4 + 1)),
        # Boolean and null: 1 byte.
        ({"ok": {"BOOL": True}, "gone": {"NULL": True}}, (2 + 1) + (4 + 1)),
        # Binary: its raw bytes.
        ({"b": {"B": b"\x00\x01\x02"}}, 1 + 3),
        # A list or map: 3 bytes, plus each element and 1 byte per element.
        ({"tags": {"L": [{"S": "a"}, {"S": "bc"}]}}, 4 + 3 + (1 + 1) + (2 + 1)),
        ({"m": {"M": {"k": {"S": "v"}}}}, 1 + 3 + (1 + 1 + 1)),
        ({"changes": {"M": {}}}, 7 + 3),
        # A set: the sum of its elements.
        ({"s": {"SS": ["ab", "c"]}}, 1 + 3),
    ],
)
def test_an_items_size_is_what_dynamodb_counts(item, size):
    assert item_size(item) == size


def test_a_korean_event_is_counted_in_utf8_bytes_not_characters():
    # Given an event whose title and description are Korean
    item = {
        "id": {"S": "e1"},
        "title": {"S": "송년회"},
        "description": {"S": "3층 대회의실"},
    }
    # Then each syllable counts 3 bytes, each digit and space 1
    assert item_size(item) == (2 + 2) + (5 + 9) + (11 + (1 + 3 + 1 + 12))


def test_number_size_rounds_odd_digit_counts_up():
    assert [number_size(n) for n in ("0", "7", "42", "100", "3.14159")] == [2, 2, 2, 2, 4]


# --- units ------------------------------------------------------------------------------------


def test_writes_cost_a_unit_per_started_kilobyte_and_at_least_one():
    assert [write_units(size) for size in (0, 1, 1024, 1025, 3000)] == [1, 1, 1, 2, 3]


def test_reads_cost_a_unit_per_started_4_kb_halved_when_eventually_consistent():
    assert read_units(0, consistent=False) == 0.5
    assert read_units(4096, consistent=True) == 1
    assert read_units(4097, consistent=True) == 2
    assert read_units(8192, consistent=False) == 1


EVENTS = TableDefinition(
    role="events",
    name="events",
    partition_key="id",
    sort_key="department_id",
    indexes=(
        Index("by-department", partition_key="department_id", sort_key="day", carries="department"),
        Index("by-span", partition_key="span", sort_key="day", carries="department"),
    ),
)


def event(**attributes: str) -> dict[str, dict[str, str]]:
    return {name: {"S": value} for name, value in {"id": "e", **attributes}.items()}


def test_a_new_item_writes_the_table_and_every_index_whose_keys_it_has():
    # Given a new event on the department index but not on the sparse span index
    after = event(department_id="d", day="2026-06-01")
    # When it is put
    charges = item_write(EVENTS, None, after)
    # Then the table and the one index are written, each under its partition key value
    assert charges == [
        Charge("events", None, "e", "write", 1),
        Charge("events", "by-department", "d", "write", 1),
    ]


def test_a_transactional_write_costs_double_on_the_table():
    after = event(department_id="d", day="2026-06-01")
    table, index = item_write(EVENTS, None, after, transactional=True)
    assert (table.units, index.units) == (2, 1)


def test_changing_an_index_key_removes_the_old_entry_and_adds_the_new_one():
    # Given an event moved to another day (the index's sort key)
    before = event(department_id="d", day="2026-06-01")
    after = event(department_id="d", day="2026-06-02")
    # Then the index is written twice
    assert len(index_writes("events", EVENTS.indexes[0], before, after)) == 2


def test_an_unchanged_index_key_is_one_write_and_an_unchanged_item_none():
    before = event(department_id="d", day="2026-06-01", title="a")
    after = event(department_id="d", day="2026-06-01", title="b")
    assert len(index_writes("events", EVENTS.indexes[0], before, after)) == 1
    assert index_writes("events", EVENTS.indexes[0], before, before) == []


def test_an_update_is_charged_for_the_larger_of_before_and_after():
    # Given an item of ~1.5 KB made small
    before = event(department_id="d", day="2026-06-01", text="x" * 1500)
    after = event(department_id="d", day="2026-06-01")
    # Then the table write costs the larger: 2 units
    assert item_write(EVENTS, before, after)[0].units == 2


def test_a_delete_removes_the_item_from_its_indexes():
    before = event(department_id="d", day="2026-06-01", span="d")
    charges = item_write(EVENTS, before, None)
    assert [(c.index, c.key) for c in charges] == [
        (None, "e"),
        ("by-department", "d"),
        ("by-span", "d"),
    ]


def test_a_query_adds_up_the_sizes_of_every_item_it_read():
    # Given 3 items of ~2 KB read eventually consistently (6 KB: 2 units halved)
    items = [{"v": {"S": "x" * 2000}}] * 3
    assert items_read("t", None, "k", items, consistent=False).units == 1


def test_the_queried_partition_comes_from_the_key_condition():
    params = {
        "KeyConditionExpression": "#d = :d AND change_key > :after",
        "ExpressionAttributeNames": {"#d": "date", "#s": "status"},
        "ExpressionAttributeValues": {":d": {"S": "2026-06-01#7"}, ":after": {"S": "x"}},
    }
    assert queried_partition(params, "date") == "2026-06-01#7"


def test_a_filtered_query_is_read_again_as_dynamodb_reads_it():
    # Given a query thinned by a filter and a projection
    params = {
        "TableName": "t",
        "KeyConditionExpression": "department_id = :d",
        "FilterExpression": "#s = :active",
        "ProjectionExpression": "id",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":d": {"S": "d"}, ":active": {"S": "active"}},
        "Limit": 10,
    }
    # Then what is charged is the same page without them, and without what only they used
    assert key_condition_only(params) == {
        "TableName": "t",
        "KeyConditionExpression": "department_id = :d",
        "ExpressionAttributeValues": {":d": {"S": "d"}},
        "Limit": 10,
    }


# --- the traffic mix --------------------------------------------------------------------------


def test_the_busiest_department_gets_its_zipf_share():
    # Given 10,000 departments and s = 1.1, computed here term by term
    total = sum(1 / k**1.1 for k in range(1, 10_001))
    # Then the top one's share is 1 / H(N, s), about 15.1%
    assert department_share(1, 10_000, 1.1) == pytest.approx(1 / total)
    assert department_share(1, 10_000, 1.1) == pytest.approx(0.151, abs=0.001)
    assert department_share(2, 10_000, 1.1) == pytest.approx(2**-1.1 / total)


def test_a_mix_splits_its_changes_and_reads_and_scales_them_together():
    mix = Mix(changes_per_second=1000, reads_per_second=500)
    rates = mix.rates()
    assert (rates[EVENT_CREATE], rates[EVENT_UPDATE], rates[EVENT_DELETE]) == (300, 600, 100)
    assert mix.api_requests_per_second == 1500
    assert mix.at(2000).api_requests_per_second == 3000


def test_each_kind_of_key_carries_its_share():
    mix = Mix(departments=10, zipf=1.0, events_per_department=50)
    top = 1 / sum(1 / k for k in range(1, 11))
    assert mix.key_share("department") == pytest.approx(top)
    assert mix.key_share("item") == pytest.approx(top / 50)
    assert mix.key_share("day") == mix.key_share("global") == 1


# --- per key value ----------------------------------------------------------------------------

DAILY = TableDefinition(
    role="log",
    name="log",
    partition_key="entry",
    carries="item",
    indexes=(Index("by-day", partition_key="day", carries="day", shards=4),),
)


def profile_writing(units_per_change: float) -> Profile:
    """Every change writes one log entry of `units_per_change` on the table and its day index."""

    def cost(name: str, entry: str) -> OperationCost:
        cost = OperationCost(name)
        cost.charges["stream"] = [
            Charge("log", None, entry, "write", units_per_change),
            Charge("log", "by-day", "2026-06-01", "write", units_per_change),
        ]
        return cost

    names = [EVENT_CREATE, EVENT_CREATE_AGAIN, EVENT_UPDATE, EVENT_DELETE]
    return Profile({name: cost(name, f"entry-{n}") for n, name in enumerate(names)})


def test_a_day_key_takes_all_the_days_traffic_over_its_shards():
    # Given 1,000 changes/s each writing 2 units on a day index spread over 4 values
    mix = Mix(changes_per_second=1000, reads_per_second=0)
    (table, day) = key_loads(profile_writing(2), mix, [DAILY])
    # Then one value takes 2,000 / 4
    assert day.write_total == pytest.approx(2000)
    assert day.write_peak == pytest.approx(500)
    # And unsharded, all of it
    (_, unsharded) = key_loads(profile_writing(2), Mix(1000, 0, unsharded=True), [DAILY])
    assert unsharded.write_peak == pytest.approx(2000)
    # While one item takes one event's share of the top department's
    assert table.write_peak == pytest.approx(2000 * mix.top_share / mix.events_per_department)


def test_the_traffic_held_is_where_the_busiest_key_value_reaches_its_limit():
    mix = Mix(changes_per_second=1000, reads_per_second=0)
    loads = key_loads(profile_writing(2), mix, [DAILY])
    changes, first = holds_up_to(loads, mix)
    assert first is not None
    assert first.name == "log/by-day"
    assert changes == pytest.approx(2000)


def test_a_key_value_over_either_limit_is_over():
    def load(write: float, read: float) -> KeyLoad:
        return KeyLoad("t", None, "department", "department", 1, 0, 0, write, read)

    assert not load(1000, 3000).over
    assert load(1001, 0).over
    assert load(0, 3001).over
    assert math.isinf(load(0, 0).headroom)


def test_a_stream_falls_behind_by_what_its_batches_cannot_take():
    # Given 1,000 records/s, 2 shards of 2 batches each, 0.01 s per record (400 records/s)
    stream = StreamLoad("h", "t", 1000, 2, 2, 100, 0.01, 500, 1)
    assert stream.lanes == 4
    assert stream.concurrency == pytest.approx(10)
    assert stream.excess == pytest.approx(600)
    # And one item's records, kept in order in one batch at a time, can fall behind alone
    hot = StreamLoad("h", "t", 10, 2, 2, 100, 0.01, 10, 150)
    assert hot.excess == pytest.approx(50)


def test_api_requests_are_priced_tier_by_tier():
    tiers = ((100.0, 2.0), (math.inf, 1.0))
    assert tiered(50, tiers) == pytest.approx(50 * 2 / 1e6)
    assert tiered(150, tiers) == pytest.approx((100 * 2 + 50 * 1) / 1e6)
