"""The capacity model (python -m bench capacity) on unit costs measured from the app itself.

The operations run once for the module, on moto: the real routes, the stream handlers and the
deliveries, each request charged by DynamoDB's rules. The assertions are about what the model
makes of those costs, so it moves when the code does.
"""

import boto3
import pytest
from moto import mock_aws

from bench.capacity import Mix, Options, department_share, key_loads
from bench.capacity_profile import (
    EVENT_CREATE,
    EVENT_CREATE_AGAIN,
    EVENT_DELETE,
    FEED_POLL_BUSY,
    Profile,
    measure_profile,
)
from bench.capacity_report import capacity_rows
from bench.report import Row
from chalicelib.repositories.change_feed import MAX_REMEMBERED
from chalicelib.settings import get_settings
from chalicelib.tables import (
    AUDIT_DATE_INDEX,
    AUDIT_DATE_SHARDS,
    AUDIT_FEED_INDEX,
    CALENDAR_SHARDS,
    COUNTER_SHARDS,
    DELIVERY_SHARDS,
    EVENT_CALENDAR_INDEX,
    FEED_SHARDS,
    INBOX_SHARDS,
    table_definitions,
)
from tests.conftest import reset_caches
from tests.isolation import CLEARED, REGION, fake_aws

# 10,000 changes/s (and as many reads) over 10,000 departments, Zipf 1.1.
MIX = Mix(changes_per_second=10_000, departments=10_000, zipf=1.1)
WRITE_LIMIT, READ_LIMIT = 1_000, 3_000


@pytest.fixture(scope="module")
def profile() -> Profile:
    """Every operation measured once, on moto, in an environment of its own."""
    with pytest.MonkeyPatch.context() as environment:
        for name in CLEARED:
            environment.delenv(name, raising=False)
        for name, value in fake_aws("testing").items():
            environment.setenv(name, value)
        reset_caches()
        with mock_aws():
            dynamodb = boto3.client("dynamodb", region_name=REGION)
            for definition in table_definitions(get_settings()):
                dynamodb.create_table(**definition.create_table_request())
            measured = measure_profile()
        reset_caches()
    return measured


def rows_of(profile: Profile, mix: Mix) -> list[Row]:
    return capacity_rows(profile, Options(mix=mix))


def key_row(rows: list[Row], table: str, index: str | None) -> Row:
    (row,) = [
        r
        for r in rows
        if r.measure.startswith("per key value:")
        and (r.data["table"], r.data["index"]) == (table, index)
    ]
    return row


def test_the_audit_date_index_at_its_declared_shards_stays_under_the_write_limit(profile):
    # Given the mix, with the audit's date index spread as tables.py declares
    rows = rows_of(profile, MIX)
    # When the model computes the busiest date value
    row = key_row(rows, "audit", AUDIT_DATE_INDEX)
    # Then it is spread over 32 values, each under DynamoDB's 1,000 write units a second
    assert row.data["shards"] == AUDIT_DATE_SHARDS == 32
    assert 0 < row.data["write_peak"] < WRITE_LIMIT
    assert row.verdict == "ok"


def test_the_same_mix_unsharded_saturates_the_audit_date_index(profile):
    # Given the same mix as if no key were spread
    rows = rows_of(profile, Mix(10_000, departments=10_000, zipf=1.1, unsharded=True))
    # Then one date value takes a whole day's audit writes: over its limit
    row = key_row(rows, "audit", AUDIT_DATE_INDEX)
    assert row.data["shards"] == 1
    assert row.data["write_peak"] > WRITE_LIMIT
    assert row.verdict == "OVER"


def test_the_top_departments_share_is_its_zipf_weight():
    # Given 10,000 departments and s = 1.1, the weights added up here
    weights = [k**-1.1 for k in range(1, 10_001)]
    expected = weights[0] / sum(weights)
    # Then the model gives the busiest department that share, about 15.1%
    assert MIX.top_share == pytest.approx(expected)
    assert department_share(1, 10_000, 1.1) == pytest.approx(0.151, abs=0.0005)


def test_an_event_create_is_charged_for_what_the_code_and_its_stream_handler_write(profile):
    # Given the units measured for one event create through the API
    create = profile.operation(EVENT_CREATE)
    api = {(c.table, c.index) for c in create.charges["api"] if c.kind == "write"}
    stream = {(c.table, c.index) for c in create.charges["stream"] if c.kind == "write"}
    # Then the API wrote the event and its calendar index entry
    assert ("events", None) in api
    assert ("events", EVENT_CALENDAR_INDEX) in api
    # And the stream handler wrote the audit entry (and its date index entry)
    assert ("audit", None) in stream
    assert ("audit", AUDIT_DATE_INDEX) in stream
    # Each of them at least a whole unit, the event's as part of a transaction (double)
    event = [c for c in create.charges["api"] if (c.table, c.index) == ("events", None)]
    assert [c.units for c in event if c.kind == "write"] == [2]


def test_every_table_and_index_has_a_row_and_the_verdicts_follow_the_numbers(profile):
    # Given the mix
    rows = rows_of(profile, MIX)
    definitions = table_definitions(get_settings())
    # Then every table and index of tables.py has its row
    for definition in definitions:
        for index in (None, *(i.name for i in definition.indexes)):
            key_row(rows, definition.role, index)
    # And every key carrying a department's traffic is judged by its own numbers, whatever
    # they are: OVER exactly when the busiest value passes a limit
    for row in rows:
        if not row.measure.startswith("per key value:") or row.data["carries"] != "department":
            continue
        over = row.data["write_peak"] > WRITE_LIMIT or row.data["read_peak"] > READ_LIMIT
        assert row.verdict == ("OVER" if over else "ok"), row.measure


def test_the_first_to_saturate_is_a_real_table_or_index_at_the_lowest_headroom(profile):
    # Given the mix
    rows = rows_of(profile, MIX)
    loads = key_loads(profile, MIX, table_definitions(get_settings()))
    # When the model says how far the traffic can grow
    (held,) = [r for r in rows if r.measure.startswith("holds up to")]
    first = held.data["first"]
    # Then it names a table or index of tables.py, the one with the least headroom
    names = {
        (d.role, index)
        for d in table_definitions(get_settings())
        for index in (None, *(i.name for i in d.indexes))
    }
    assert (first["table"], first["index"]) in names
    lowest = min(loads, key=lambda load: load.headroom)
    assert (first["table"], first["index"]) == (lowest.table, lowest.index)
    assert held.data["changes_per_second"] == pytest.approx(10_000 * lowest.headroom)


def test_event_creates_and_deletes_leave_the_department_item_and_its_name_index_alone(
    profile,
):
    # Given the units measured for event creates and deletes
    touched = {
        (c.table, c.index)
        for name in (EVENT_CREATE, EVENT_CREATE_AGAIN, EVENT_DELETE)
        for c in profile.operation(name).charges["api"]
        if c.kind == "write"
    }
    # Then their counter moves went to the counters table, not the department item (which
    # projected every move into its name index too)
    assert ("counters", None) in touched
    assert not {key for key in touched if key[0] == "departments"}
    # So the model keeps the name index as one name's traffic, as declared
    row = key_row(rows_of(profile, MIX), "departments", "name-index")
    assert row.data["declared"] == row.data["carries"] == "item"


# Keys that carry one department's (or its subscription's) writes, each spread as tables.py
# declares: (table, index, declared values). At the reference mix the busiest department makes
# 15% of everything: its event counter's moves (two units each, in transactions), its events'
# calendar index entries, its
# subscription's deliveries (opened, then recorded), its change feed's entries and its inbox's
# notifications.
SPREAD_BY_DEPARTMENT = [
    ("counters", None, COUNTER_SHARDS),
    ("events", EVENT_CALENDAR_INDEX, CALENDAR_SHARDS),
    ("deliveries", None, DELIVERY_SHARDS),
    ("audit", AUDIT_FEED_INDEX, FEED_SHARDS),
    ("notifications", None, INBOX_SHARDS),
]


@pytest.mark.parametrize(("table", "index", "shards"), SPREAD_BY_DEPARTMENT)
def test_the_busiest_departments_spread_keys_stay_under_the_write_limit(
    profile, table, index, shards
):
    # Given the mix
    rows = rows_of(profile, MIX)
    # When the model computes the busiest value of the key
    row = key_row(rows, table, index)
    # Then, spread over the declared values, each takes less than 1,000 write units a second
    assert row.data["shards"] == shards > 1
    assert 0 < row.data["write_peak"] < WRITE_LIMIT
    assert row.verdict == "ok"
    # While as one value, as before its spreading, it would be over
    unspread = key_row(
        rows_of(profile, Mix(10_000, departments=10_000, zipf=1.1, unsharded=True)), table, index
    )
    assert unspread.data["write_peak"] > WRITE_LIMIT


def test_a_busy_departments_feed_poll_reads_its_window_again_and_bounds_its_open_pages(profile):
    # Given a department with more changes in the feed's look-back window than a token
    # remembers, and a client that has read them all
    poll = profile.operation(FEED_POLL_BUSY)
    reads = [c for c in poll.all_charges() if c.kind == "read"]
    # When it polls and nothing is new, then it still asks every feed value and reads the
    # remembered entries again: each over 1 KB, so at least half a unit per 4 KB of them
    assert {c.index for c in reads} == {AUDIT_FEED_INDEX}
    assert len({c.key for c in reads}) == FEED_SHARDS
    assert sum(c.units for c in reads) >= MAX_REMEMBERED * 1 / 4 * 0.5
    # And the model says how many pages polling once a second fit under the read limit of
    # the busiest value
    per_value: dict[str, float] = {}
    for charge in reads:
        per_value[charge.key] = per_value.get(charge.key, 0.0) + charge.units
    (row,) = [r for r in rows_of(profile, MIX) if r.measure.startswith("change feed:")]
    assert row.data["pages"] == pytest.approx(READ_LIMIT / max(per_value.values()))
    assert 0 < row.data["pages"] < READ_LIMIT
