// Writes to one event, guarded by the version the page showed (If-Match): a change made
// elsewhere in between is answered 412 with the version the event has now, and nothing is
// written. One occurrence of a series is written through its own path.
import { api, etag, failure, idempotencyKey } from "./api";
import type { CalendarEvent, EventCreate, EventUpdate } from "./api";

export type WriteOutcome =
  | { kind: "saved" }
  | { kind: "stale"; currentVersion: number }
  | { kind: "failed"; message: string };

export const STALE_MESSAGE = "다른 사람이 먼저 바꿨습니다";

export function describeOutcome(outcome: WriteOutcome): string {
  switch (outcome.kind) {
    case "saved":
      return "";
    case "stale":
      return `${STALE_MESSAGE} (현재 버전 ${outcome.currentVersion}). 달력을 새로 읽었으니 다시 열어 고쳐 주세요.`;
    case "failed":
      return outcome.message;
  }
}

interface Answer {
  error?: unknown;
  response: Response;
}

function outcomeOf({ error, response }: Answer): WriteOutcome {
  if (response.ok) return { kind: "saved" };
  if (
    response.status === 412 &&
    typeof error === "object" &&
    error !== null &&
    "current_version" in error
  ) {
    return { kind: "stale", currentVersion: Number(error.current_version) };
  }
  return { kind: "failed", message: failure(response, error).message };
}

/** The path of one occurrence of a series, written as itself, not as the whole series. */
function occurrenceOf(
  item: CalendarEvent,
): { department_id: string; event_id: string; occurrence_date: string } | null {
  return item.series_id && item.occurrence_date
    ? {
        department_id: item.department_id,
        event_id: item.series_id,
        occurrence_date: item.occurrence_date,
      }
    : null;
}

export async function createEvent(departmentId: string, body: EventCreate): Promise<WriteOutcome> {
  return outcomeOf(
    await api.POST("/api/events/{department_id}", {
      params: {
        path: { department_id: departmentId },
        header: { "Idempotency-Key": idempotencyKey() },
      },
      body,
    }),
  );
}

export async function changeEvent(item: CalendarEvent, body: EventUpdate): Promise<WriteOutcome> {
  const header = { "If-Match": etag(item.version) };
  const occurrence = occurrenceOf(item);
  if (occurrence) {
    return outcomeOf(
      await api.PATCH("/api/events/{department_id}/{event_id}/occurrences/{occurrence_date}", {
        params: { path: occurrence, header },
        body,
      }),
    );
  }
  return outcomeOf(
    await api.PATCH("/api/events/{department_id}/{event_id}", {
      params: { path: { department_id: item.department_id, event_id: item.id }, header },
      body,
    }),
  );
}

export async function deleteEvent(item: CalendarEvent): Promise<WriteOutcome> {
  const header = { "If-Match": etag(item.version) };
  const occurrence = occurrenceOf(item);
  if (occurrence) {
    return outcomeOf(
      await api.DELETE("/api/events/{department_id}/{event_id}/occurrences/{occurrence_date}", {
        params: { path: occurrence, header },
      }),
    );
  }
  return outcomeOf(
    await api.DELETE("/api/events/{department_id}/{event_id}", {
      params: { path: { department_id: item.department_id, event_id: item.id }, header },
    }),
  );
}
