// Beside the calendar: the selected event's history and the department's inbox. Both are
// written by the change streams a moment after each change, so they are read again whenever
// the change feed reports something.
import { api } from "./api";
import type { AuditEntry, CalendarEvent, Notification } from "./api";
import { readableMoment } from "./dates";
import { element, show } from "./elements";

const SHOWN = 20;
const ACTIONS: Record<string, string> = { INSERT: "만듦", MODIFY: "바꿈", REMOVE: "지움" };
const FIELDS: Record<string, string> = {
  title: "제목",
  event_date: "날짜",
  end_date: "마지막 날",
  time: "시간",
  start_time: "시작",
  end_time: "종료",
  description: "설명",
  recurrence: "반복",
  exdates: "빠진 날짜",
};

export class SidePanel {
  private readonly subject = element("history-subject", HTMLParagraphElement);
  private readonly history = element("history-list", HTMLOListElement);
  private readonly inbox = element("inbox-list", HTMLOListElement);
  private departmentId: string | null = null;
  private event: CalendarEvent | null = null;

  showDepartment(departmentId: string): void {
    if (departmentId !== this.departmentId) {
      this.departmentId = departmentId;
      this.select(null);
      this.inbox.replaceChildren();
    }
    void this.refresh();
  }

  showEvent(event: CalendarEvent): void {
    this.select(event);
    void this.refresh();
  }

  private select(event: CalendarEvent | null): void {
    this.event = event;
    show(
      this.subject,
      event ? `'${event.title}'의 변경 기록` : "일정을 누르면 변경 기록이 여기에 보입니다.",
    );
    this.history.replaceChildren();
  }

  async refresh(): Promise<void> {
    try {
      await Promise.all([this.refreshHistory(), this.refreshInbox()]);
    } catch {
      // The next change or click reads them again; the calendar matters more than these.
    }
  }

  private async refreshHistory(): Promise<void> {
    const event = this.event;
    if (!event || event.holiday) return;
    // An occurrence's own changes are kept under its id, the series' under the series'.
    const ids = [event.id, ...(event.series_id ? [event.series_id] : [])];
    const pages = await Promise.all(
      ids.map((event_id) =>
        api.GET("/api/events/{department_id}/{event_id}/history", {
          params: {
            path: { department_id: event.department_id, event_id },
            query: { limit: SHOWN },
          },
        }),
      ),
    );
    if (event !== this.event) return;
    const entries = pages
      .flatMap((page) => page.data?.items ?? [])
      .sort(
        (a, b) => b.at.localeCompare(a.at) || b.sequence_number.localeCompare(a.sequence_number),
      )
      .slice(0, SHOWN);
    this.history.replaceChildren(...entries.map(historyItem));
  }

  private async refreshInbox(): Promise<void> {
    const departmentId = this.departmentId;
    if (!departmentId) return;
    const { data } = await api.GET("/api/departments/{department_id}/notifications", {
      params: { path: { department_id: departmentId }, query: { limit: SHOWN } },
    });
    if (data && departmentId === this.departmentId) {
      this.inbox.replaceChildren(...data.items.map(inboxItem));
    }
  }
}

function historyItem(entry: AuditEntry): HTMLLIElement {
  const item = document.createElement("li");
  const changed = Object.entries(entry.changes)
    .filter(([field]) => field in FIELDS)
    .map(([field, change]) => `${FIELDS[field]}: ${text(change.old)} → ${text(change.new)}`);
  item.append(line(`${readableMoment(entry.at)} · ${entry.actor}`, "when"));
  item.append(line([ACTIONS[entry.action] ?? entry.action, ...changed].join(" · ")));
  return item;
}

function inboxItem(notification: Notification): HTMLLIElement {
  const item = document.createElement("li");
  item.append(line(readableMoment(notification.at), "when"), line(notification.text));
  return item;
}

function line(content: string, className = ""): HTMLSpanElement {
  const span = document.createElement("span");
  span.className = className || "what";
  span.textContent = content;
  return span;
}

function text(value: unknown): string {
  if (value === null || value === undefined || value === "") return "없음";
  return typeof value === "string" ? value : JSON.stringify(value);
}
