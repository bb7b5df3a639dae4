// The dialog that creates an event on a day, or changes or deletes the one clicked.
import type { CalendarEvent, EventCreate, EventUpdate } from "./api";
import { timeText } from "./calendar-events";
import { element, show } from "./elements";
import type { WriteOutcome } from "./event-writes";
import { describeOutcome } from "./event-writes";

export interface EventDialogActions {
  create(body: EventCreate): Promise<WriteOutcome>;
  change(item: CalendarEvent, body: EventUpdate): Promise<WriteOutcome>;
  remove(item: CalendarEvent): Promise<WriteOutcome>;
}

interface FormValues {
  title: string;
  event_date: string;
  all_day: boolean;
  start_time: string;
  end_time: string;
  description: string;
}

export class EventDialog {
  private readonly dialog = element("event-dialog", HTMLDialogElement);
  private readonly form = element("event-form", HTMLFormElement);
  private readonly heading = element("event-dialog-title", HTMLHeadingElement);
  private readonly occurrenceNote = element("event-occurrence-note", HTMLParagraphElement);
  private readonly title = element("event-title", HTMLInputElement);
  private readonly day = element("event-date", HTMLInputElement);
  private readonly allDay = element("event-all-day", HTMLInputElement);
  private readonly times = element("event-times", HTMLFieldSetElement);
  private readonly start = element("event-start", HTMLInputElement);
  private readonly end = element("event-end", HTMLInputElement);
  private readonly description = element("event-description", HTMLTextAreaElement);
  private readonly message = element("event-dialog-message", HTMLParagraphElement);
  private readonly deleteButton = element("event-delete", HTMLButtonElement);
  private editing: CalendarEvent | null = null;
  private busy = false;

  constructor(private readonly actions: EventDialogActions) {
    this.allDay.addEventListener("change", () => this.followAllDay());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.save();
    });
    this.deleteButton.addEventListener("click", () => void this.remove());
    element("event-cancel", HTMLButtonElement).addEventListener("click", () => this.close());
  }

  openNew(day: string, startTime: string | null): void {
    this.editing = null;
    this.heading.textContent = "새 일정";
    this.occurrenceNote.hidden = true;
    this.deleteButton.hidden = true;
    this.fill({
      title: "",
      event_date: day,
      all_day: startTime === null,
      start_time: startTime ?? "",
      end_time: "",
      description: "",
    });
  }

  openExisting(item: CalendarEvent): void {
    this.editing = item;
    this.heading.textContent = "일정 고치기";
    this.occurrenceNote.hidden = !item.series_id;
    this.deleteButton.hidden = false;
    this.fill({
      title: item.title,
      event_date: item.event_date,
      all_day: item.all_day,
      start_time: item.start_time ?? "",
      end_time: item.end_time ?? "",
      description: item.description,
    });
  }

  private fill(values: FormValues): void {
    this.title.value = values.title;
    this.day.value = values.event_date;
    this.allDay.checked = values.all_day;
    this.start.value = values.start_time;
    this.end.value = values.end_time;
    this.description.value = values.description;
    show(this.message, "");
    this.followAllDay();
    if (!this.dialog.open) this.dialog.showModal();
    this.title.focus();
  }

  private followAllDay(): void {
    this.times.disabled = this.allDay.checked;
    this.start.required = !this.allDay.checked;
  }

  private values(): FormValues {
    return {
      title: this.title.value.trim(),
      event_date: this.day.value,
      all_day: this.allDay.checked,
      start_time: this.allDay.checked ? "" : this.start.value,
      end_time: this.allDay.checked ? "" : this.end.value,
      description: this.description.value,
    };
  }

  private async save(): Promise<void> {
    const values = this.values();
    if (values.end_time && values.end_time <= values.start_time) {
      show(this.message, "종료 시간은 시작 시간보다 늦어야 합니다.");
      return;
    }
    const times = values.all_day
      ? { all_day: true, time: "" }
      : {
          start_time: values.start_time,
          end_time: values.end_time,
          time: timeText(values.start_time, values.end_time),
        };
    const body = {
      title: values.title,
      event_date: values.event_date,
      description: values.description,
      ...times,
    };
    const editing = this.editing;
    await this.run(() =>
      editing ? this.actions.change(editing, body) : this.actions.create(body),
    );
  }

  private async remove(): Promise<void> {
    const editing = this.editing;
    if (editing) await this.run(() => this.actions.remove(editing));
  }

  private async run(write: () => Promise<WriteOutcome>): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    show(this.message, "");
    try {
      const outcome = await write();
      if (outcome.kind === "saved") this.close();
      else show(this.message, describeOutcome(outcome));
    } catch {
      show(this.message, "서버에 닿지 못했습니다. 잠시 뒤 다시 해 주세요.");
    } finally {
      this.busy = false;
    }
  }

  close(): void {
    this.editing = null;
    if (this.dialog.open) this.dialog.close();
  }
}
