// Dates as the API writes them: `YYYY-MM-DD` days and `HH:MM` wall-clock times.

function pad(value: number): string {
  return String(value).padStart(2, "0");
}

/** The day a Date falls on in the browser's zone. */
export function dayOf(date: Date): string {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

export function timeOf(date: Date): string {
  return `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function addDays(day: string, days: number): string {
  const [year, month, date] = day.split("-").map(Number);
  return dayOf(new Date(year ?? 1970, (month ?? 1) - 1, (date ?? 1) + days));
}

export function daysBetween(from: string, to: string): number {
  const utc = (day: string) => Date.parse(`${day}T00:00:00Z`);
  return Math.round((utc(to) - utc(from)) / 86_400_000);
}

export function isDay(value: string | null): value is string {
  return value !== null && /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(value));
}

/** An instant from the API (ISO 8601, UTC) as people here read it. */
export function readableMoment(iso: string): string {
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return iso;
  return moment.toLocaleString("ko-KR", { dateStyle: "medium", timeStyle: "short" });
}
