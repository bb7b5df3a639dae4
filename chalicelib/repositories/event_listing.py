"""Reading a department's calendar: stored events page by page, or the instances of a range of
dates (single events, occurrences of series, holidays) in start order."""

from collections.abc import Iterator
from typing import Any

from chalicelib.calendar.instances import (
    ALL_DAY,
    Key,
    Window,
    expand,
    instance_key,
    matches,
    merge_page,
)
from chalicelib.calendar.schedule import FIRST, NEVER
from chalicelib.dynamo import DynamoDBClient, query_items, to_item
from chalicelib.errors import InvalidPageToken
from chalicelib.formats import is_calendar_date
from chalicelib.models import Event
from chalicelib.pagination import decode_token, encode_token
from chalicelib.repositories._merged import MergedKey, merged_items
from chalicelib.tables import (
    EVENT_CALENDAR_INDEX,
    EVENT_SPAN_INDEX,
    calendar_keys,
    calendar_order,
    calendar_orders_between,
)

# Where a page of stored events ended: its last event's department, date and id (the (date,
# id) order the listing merges its index values in).
_PAGE_KEY = ("department_id", "event_date", "id")
_CURSOR = frozenset({"date", "start", "id"})


class EventListing:
    def __init__(self, client: DynamoDBClient, events_table: str) -> None:
        self._client = client
        self._table = events_table

    def stored_page(
        self, department_id: str, *, limit: int, next_token: str | None, query: str | None
    ) -> tuple[list[Event], str | None]:
        """The events as stored (a series once, with its rule), in event_date order."""
        scope = f"events|{department_id}|||{query or ''}"
        after = None
        if next_token is not None:
            start = decode_token(
                next_token, scope, frozenset(_PAGE_KEY), fixed={"department_id": department_id}
            )
            if not is_calendar_date(start["event_date"]):
                raise InvalidPageToken("next_token does not belong to this listing.")
            after = (start["event_date"], start["id"])
        found: list[dict[str, Any]] = []
        for item in self._dated(department_id, FIRST, NEVER, after, page=limit + 1):
            if matches(item, query):
                found.append(item)
                if len(found) > limit:
                    break
        page = found[:limit]
        token = None
        if len(found) > limit:
            token = encode_token(scope, {name: str(page[-1][name]) for name in _PAGE_KEY})
        return [Event.model_validate(item) for item in page], token

    def every_stored(self, department_id: str) -> list[Event]:
        """All of the department's events as stored, in date order (for its calendar feed)."""
        return [
            Event.model_validate(item)
            for item in self._dated(department_id, FIRST, NEVER, None, page=1000)
        ]

    def instances_page(
        self,
        department_id: str,
        window: Window,
        *,
        limit: int,
        next_token: str | None,
        query: str | None = None,
        holidays: bool = False,
    ) -> tuple[list[Event], str | None]:
        """The instances that overlap the window, in start order, a page at a time."""
        scope = f"instances|{department_id}|{window.first}|{window.last}|{query or ''}|{holidays:d}"
        after = None if next_token is None else _cursor(next_token, scope, window)
        page, more = self.instances(
            department_id, window, limit, after=after, query=query, holidays=holidays
        )
        token = None
        if more and page:
            day, start, event_id = instance_key(page[-1])
            token = encode_token(scope, {"date": day, "start": start, "id": event_id})
        return [Event.model_validate(item) for item in page], token

    def instances(
        self,
        department_id: str,
        window: Window,
        limit: int,
        *,
        after: Key | None = None,
        query: str | None = None,
        holidays: bool = False,
    ) -> tuple[list[dict[str, Any]], bool]:
        # Single events come from the calendar index, read until the page's last day is complete;
        # events that span days (multi-day, series) from the sparse span index, all at once.
        first = window.first if after is None else max(window.first, after[0])
        singles: list[dict[str, Any]] = []
        counted = 0
        complete_before: Key | None = None
        for item in self._dated(department_id, first, window.last, None, page=limit + 1):
            if counted > limit and item["event_date"] > singles[-1]["event_date"]:
                complete_before = (str(item["event_date"]), "", "")
                break
            if "span_department" in item or not matches(item, query):
                continue
            if after is None or instance_key(item) > after:
                singles.append(item)
                counted += 1
        spanning = (
            instance
            for item in self._spanning(department_id, window, first)
            if matches(item, query)
            for instance in expand(item, window, after, limit)
        )
        sources: list[Any] = [singles, spanning]
        if holidays:
            sources.append(_holidays(department_id, window, first, after, query))
        return merge_page(sources, limit, complete_before)

    def _dated(
        self,
        department_id: str,
        first: str,
        last: str,
        after: tuple[str, str] | None,
        *,
        page: int,
    ) -> Iterator[dict[str, Any]]:
        """The department's stored events with event_date in first..last, past `after` (a
        date and an id), in (date, id) order: its calendar index values merged, each asked
        for its share of `page` at a time."""
        values = calendar_keys(department_id)
        calendar = MergedKey(
            table=self._table,
            index=EVENT_CALENDAR_INDEX,
            partition_key="calendar_key",
            values=values,
            sort_key="calendar_order",
            tie_key="id",
            oldest_first=True,
            unique_sort_key=True,
        )
        return merged_items(
            self._client,
            calendar,
            after=None if after is None else (calendar_order(*after), after[1]),
            between=calendar_orders_between(first, last),
            per_shard=-(-page // len(values)) + 1,
        )

    def _spanning(self, department_id: str, window: Window, first: str) -> Iterator[dict[str, Any]]:
        """Multi-day and recurring events that start by the window's end and last into it."""
        params: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": EVENT_SPAN_INDEX,
            "KeyConditionExpression": "span_department = :d AND event_date <= :last",
            "FilterExpression": "span_until >= :first",
            "ExpressionAttributeValues": to_item(
                {":d": department_id, ":last": window.last, ":first": first}
            ),
        }
        yield from query_items(self._client, params)


def _cursor(token: str, scope: str, window: Window) -> Key:
    key = decode_token(token, scope, _CURSOR)
    start = key["start"]
    if not is_calendar_date(key["date"]) or not (start == ALL_DAY or len(start) == 5):
        raise InvalidPageToken("next_token does not belong to this listing.")
    return key["date"], start, key["id"]


def _holidays(
    department_id: str, window: Window, first: str, after: Key | None, query: str | None
) -> Iterator[dict[str, Any]]:
    from chalicelib.calendar.holidays import holidays_between

    for holiday in holidays_between(first, window.last):
        item = {
            "id": f"holiday-{holiday.date}",
            "department_id": department_id,
            "event_date": holiday.date,
            "title": holiday.name,
            "time": "",
            "description": "",
            "holiday": True,
            "created_at": "",
            "updated_at": "",
            "version": 0,
        }
        if matches(item, query) and (after is None or instance_key(item) > after):
            yield item
