// The calendar page: a department's events in FullCalendar, written through the API, kept live
// by the department's change feed.
import { Calendar } from "@fullcalendar/core";
import type { EventDropArg, EventSourceFuncArg, EventInput } from "@fullcalendar/core";
import koLocale from "@fullcalendar/core/locales/ko";
import dayGridPlugin from "@fullcalendar/daygrid";
import interactionPlugin from "@fullcalendar/interaction";
import type { DateClickArg } from "@fullcalendar/interaction";
import listPlugin from "@fullcalendar/list";
import timeGridPlugin from "@fullcalendar/timegrid";
import { eventsBetween } from "./api";
import type { Department } from "./api";
import { itemOf, moveChanges, toCalendarInput } from "./calendar-events";
import { addDays, dayOf, timeOf } from "./dates";
import { readState, VIEWS, writeState } from "./deep-link";
import type { View } from "./deep-link";
import { DepartmentList } from "./departments";
import { element } from "./elements";
import { EventDialog } from "./event-dialog";
import { changeEvent, createEvent, deleteEvent, describeOutcome } from "./event-writes";
import type { WriteOutcome } from "./event-writes";
import { ChangeFeed } from "./live-updates";
import { report } from "./messages";
import { SidePanel } from "./side-panel";

const initial = readState();
let shownDepartment: string | null = null;
// Set while the back or forward button's address is being shown, which must not be pushed.
let restoring = false;

const sidePanel = new SidePanel();
const departments = new DepartmentList(selectDepartment, report);

function afterWrite(done: string): (outcome: WriteOutcome) => WriteOutcome {
  return (outcome) => {
    if (outcome.kind === "saved") report(done, false);
    // Saved or refused, the calendar shows what the server has now.
    calendar.refetchEvents();
    void sidePanel.refresh();
    return outcome;
  };
}

const dialog = new EventDialog({
  create: (body) => {
    const department = departments.selected;
    if (!department) return Promise.resolve({ kind: "failed", message: "부서를 먼저 고르세요." });
    return createEvent(department.id, body).then(afterWrite("일정을 만들었습니다."));
  },
  change: (item, body) => changeEvent(item, body).then(afterWrite("일정을 고쳤습니다.")),
  remove: (item) => deleteEvent(item).then(afterWrite("일정을 지웠습니다.")),
});

async function loadEvents(range: EventSourceFuncArg): Promise<EventInput[]> {
  const department = departments.selected;
  if (!department) return [];
  // The API's `to` is inclusive, FullCalendar's end is not.
  const items = await eventsBetween(
    department.id,
    dayOf(range.start),
    addDays(dayOf(range.end), -1),
  );
  return items.map(toCalendarInput);
}

function openNewEvent(day: string, startTime: string | null): void {
  if (!departments.selected) {
    report("부서를 먼저 고르거나 만드세요.", true);
    return;
  }
  dialog.openNew(day, startTime);
}

async function moveEvent(drop: EventDropArg): Promise<void> {
  const item = itemOf(drop.event.extendedProps);
  const start = drop.event.start;
  if (!start) {
    drop.revert();
    return;
  }
  let outcome: WriteOutcome;
  try {
    outcome = await changeEvent(item, moveChanges(item, start, drop.event.end, drop.event.allDay));
  } catch {
    outcome = { kind: "failed", message: "서버에 닿지 못했습니다." };
  }
  if (outcome.kind === "saved") report(`'${item.title}'을(를) 옮겼습니다.`, false);
  else {
    drop.revert();
    report(describeOutcome(outcome), true);
  }
  calendar.refetchEvents();
  void sidePanel.refresh();
}

function followAddress(push: boolean): void {
  writeState(
    {
      // Until the departments are read, the address keeps the one it asked for.
      departmentId: shownDepartment ?? initial.departmentId,
      date: dayOf(calendar.getDate()),
      view: VIEWS.find((view) => view === calendar.view.type) ?? null,
    },
    push,
  );
}

const calendar = new Calendar(element("calendar", HTMLDivElement), {
  plugins: [dayGridPlugin, timeGridPlugin, listPlugin, interactionPlugin],
  locale: koLocale,
  initialView: initial.view ?? VIEWS[0],
  ...(initial.date ? { initialDate: initial.date } : {}),
  headerToolbar: {
    left: "prev,next today newEvent",
    center: "title",
    right: VIEWS.join(","),
  },
  // Words, not icon glyphs: FullCalendar's icons are role="img" with no text for screen readers.
  buttonIcons: false,
  buttonText: { prev: "이전", next: "다음" },
  customButtons: {
    newEvent: { text: "새 일정", click: () => openNewEvent(dayOf(calendar.getDate()), null) },
  },
  // The window's height, like a wall calendar: a busy day shows "+N", and the week scrolls
  // inside, opening at 08:00.
  height: "calc(100vh - 6rem)",
  scrollTime: "08:00:00",
  dayMaxEvents: true,
  nowIndicator: true,
  editable: true,
  // Moving is supported; stretching is not (the dialog sets the end).
  eventDurationEditable: false,
  events: (range, success, failure) => {
    loadEvents(range).then(success, (error: unknown) => {
      report("일정을 읽지 못했습니다.", true);
      failure(error instanceof Error ? error : new Error(String(error)));
    });
  },
  dateClick: (click: DateClickArg) =>
    openNewEvent(dayOf(click.date), click.allDay ? null : timeOf(click.date)),
  eventClick: (click) => {
    click.jsEvent.preventDefault();
    const item = itemOf(click.event.extendedProps);
    if (item.holiday) {
      report(`${item.event_date}: ${item.title} (공휴일)`, false);
      return;
    }
    sidePanel.showEvent(item);
    dialog.openExisting(item);
  },
  eventDrop: (drop) => void moveEvent(drop),
  datesSet: () => followAddress(false),
  // A day is labelled by its date alone, which hides the events listed in it from its name
  // (axe: label-content-name-mismatch); without the label its name is all it shows.
  dayCellDidMount: (cell) => cell.el.removeAttribute("aria-labelledby"),
});

const changes = new ChangeFeed(() => {
  calendar.refetchEvents();
  void sidePanel.refresh();
});

function selectDepartment(department: Department): void {
  const switched = department.id !== shownDepartment;
  const first = shownDepartment === null;
  shownDepartment = department.id;
  document.title = `${department.name} · 부서 일정`;
  if (switched) {
    calendar.refetchEvents();
    sidePanel.showDepartment(department.id);
    changes.follow(department.id);
    // The first department shown, or one the back button returned to, is already the
    // address's; choosing another adds an entry to the browser's history.
    followAddress(!first && !restoring);
  }
}

function applyState(view: View | null, date: string | null): void {
  if (view && view !== calendar.view.type) calendar.changeView(view);
  if (date) calendar.gotoDate(date);
}

window.addEventListener("popstate", () => {
  const state = readState();
  restoring = true;
  try {
    if (state.departmentId) departments.select(state.departmentId);
    applyState(state.view, state.date);
  } finally {
    restoring = false;
  }
});

async function start(): Promise<void> {
  calendar.render();
  let listed: Department[];
  try {
    listed = await departments.load();
  } catch {
    report("부서 목록을 읽지 못했습니다. 새로 고쳐 주세요.", true);
    return;
  }
  const wanted = initial.departmentId;
  if (wanted && departments.select(wanted)) return;
  if (wanted) report("주소의 부서를 찾을 수 없습니다.", true);
  const first = listed[0];
  if (first) departments.select(first.id);
  else report("부서가 없습니다. 왼쪽에서 새 부서를 만드세요.", false);
}

void start();
