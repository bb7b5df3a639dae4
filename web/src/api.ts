// The API, through a client typed from the app's OpenAPI document (generated/api.d.ts, made by
// openapi-typescript): a path, parameter or field the document does not have fails `tsc`.
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/api";

export type CalendarEvent = components["schemas"]["Event"];
export type EventCreate = components["schemas"]["EventCreate"];
export type EventUpdate = components["schemas"]["EventUpdate"];
export type Department = components["schemas"]["Department"];
export type AuditEntry = components["schemas"]["AuditEntry"];
export type Notification = components["schemas"]["Notification"];

// The server writes the prefix it serves the page under into the page: `/v1` on API Gateway's
// own domain, nothing locally. The API lives under the same prefix.
function servedBase(): string {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="app-base"]');
  return meta?.content ?? "";
}

export const basePath = servedBase();
export const api = createClient<paths>({ baseUrl: location.origin + basePath });

const PAGE_SIZE = 100;

/** What a failed call says, for people: the API's own message when it gave one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

// The API's messages are English; what people here most often meet, in Korean.
const KOREAN_MESSAGES: Record<string, string> = {
  department_name_taken: "같은 이름의 부서가 이미 있습니다.",
  department_not_found: "부서를 찾을 수 없습니다. 다른 곳에서 지웠을 수 있습니다.",
  event_not_found: "일정을 찾을 수 없습니다. 다른 곳에서 지웠을 수 있습니다.",
  occurrence_not_found: "반복 일정에 그 날짜가 없습니다.",
  storage_unavailable: "저장소가 잠시 응답하지 않습니다. 잠시 뒤 다시 해 주세요.",
};

export function failure(response: Response, error: unknown): ApiError {
  const body = typeof error === "object" && error !== null ? error : {};
  const code = "code" in body ? String(body.code) : "";
  const message = "message" in body ? String(body.message) : "";
  const text = KOREAN_MESSAGES[code] ?? (message || `서버가 ${response.status}로 답했습니다.`);
  return new ApiError(response.status, text);
}

export function etag(version: number): string {
  return `"${version}"`;
}

export async function allDepartments(): Promise<Department[]> {
  const departments: Department[] = [];
  let next_token: string | undefined;
  do {
    const { data, error, response } = await api.GET("/api/departments", {
      params: { query: { limit: PAGE_SIZE, next_token } },
    });
    if (!data) throw failure(response, error);
    departments.push(...data.items);
    next_token = data.next_token ?? undefined;
  } while (next_token);
  return departments;
}

/** What happens in a department from `from` to `to` (inclusive): series expanded into their
 * occurrences, Korean public holidays mixed in. */
export async function eventsBetween(
  departmentId: string,
  from: string,
  to: string,
): Promise<CalendarEvent[]> {
  const events: CalendarEvent[] = [];
  let next_token: string | undefined;
  do {
    const { data, error, response } = await api.GET("/api/events/{department_id}", {
      params: {
        path: { department_id: departmentId },
        query: { from, to, include: "holidays", limit: PAGE_SIZE, next_token },
      },
    });
    if (!data) throw failure(response, error);
    events.push(...data.items);
    next_token = data.next_token ?? undefined;
  } while (next_token);
  return events;
}

/** A key that makes retrying a create safe (the API answers a repeat with the first result). */
export function idempotencyKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
