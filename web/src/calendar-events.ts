// The API's events as FullCalendar shows them, and back: what a move changes.
import type { EventInput } from "@fullcalendar/core";
import type { CalendarEvent, EventUpdate } from "./api";
import { addDays, dayOf, daysBetween, timeOf } from "./dates";

// Events are shown at the wall-clock time they were written in (their `timezone`, Asia/Seoul
// unless set): the calendar works in the browser's zone, and department calendars here are
// read in Korea, where there is no daylight saving to shift a time.
export function toCalendarInput(item: CalendarEvent): EventInput {
  const lastDay = item.end_date ?? item.event_date;
  const input: EventInput = {
    id: item.id,
    title: item.title,
    allDay: item.all_day,
    editable: !item.holiday,
    classNames: item.holiday ? ["holiday"] : item.series_id ? ["occurrence"] : [],
    extendedProps: { item },
  };
  if (item.all_day) {
    input.start = item.event_date;
    // FullCalendar's end is exclusive, the API's last day inclusive.
    if (item.end_date) input.end = addDays(item.end_date, 1);
  } else {
    input.start = `${item.event_date}T${item.start_time ?? "00:00"}`;
    if (item.end_time) input.end = `${lastDay}T${item.end_time}`;
  }
  return input;
}

export function itemOf(extendedProps: Record<string, unknown>): CalendarEvent {
  return extendedProps["item"] as CalendarEvent;
}

/** The `time` text the API keeps beside the times (notifications quote it): written again
 * whenever the page sets times, so it never tells an old time. */
export function timeText(start: string, end: string): string {
  return end ? `${start}~${end}` : start;
}

/** The change that moves `item` to where it was dropped. */
export function moveChanges(
  item: CalendarEvent,
  start: Date,
  end: Date | null,
  allDay: boolean,
): EventUpdate {
  const day = dayOf(start);
  const changes: EventUpdate = { event_date: day };
  if (item.end_date) {
    changes.end_date = addDays(item.end_date, daysBetween(item.event_date, day));
  }
  if (allDay) {
    if (!item.all_day) Object.assign(changes, { all_day: true, time: "" });
    return changes;
  }
  const startTime = timeOf(start);
  const endTime = end && (item.end_time || item.all_day) ? timeOf(end) : "";
  // On a one-day event the end must come after the start; an end pushed past midnight by the
  // move cannot be kept, so the event keeps just its start.
  const multiDay = changes.end_date !== undefined && changes.end_date !== day;
  const keptEnd = endTime && (multiDay || endTime > startTime) ? endTime : "";
  Object.assign(changes, {
    start_time: startTime,
    end_time: keptEnd,
    time: timeText(startTime, keptEnd),
  });
  return changes;
}
