// The address says what is shown: `?department=<id>&date=YYYY-MM-DD&view=…`. Opening it shows
// that department at that date; navigating writes it back, so it can be shared or reloaded.
import { isDay } from "./dates";

export const VIEWS = ["dayGridMonth", "timeGridWeek", "listMonth"] as const;
export type View = (typeof VIEWS)[number];

export interface PageState {
  departmentId: string | null;
  date: string | null;
  view: View | null;
}

export function readState(): PageState {
  const query = new URLSearchParams(location.search);
  const date = query.get("date");
  const view = query.get("view");
  return {
    departmentId: query.get("department") || null,
    date: isDay(date) ? date : null,
    view: VIEWS.find((known) => known === view) ?? null,
  };
}

/** `push`: a new entry in the browser's history (another department); otherwise the current
 * one is replaced (moving through dates would otherwise fill the back button). */
export function writeState(state: PageState, push: boolean): void {
  const query = new URLSearchParams();
  if (state.departmentId) query.set("department", state.departmentId);
  if (state.date) query.set("date", state.date);
  if (state.view && state.view !== VIEWS[0]) query.set("view", state.view);
  const address = `${location.pathname}?${query.toString()}`;
  if (address === `${location.pathname}${location.search}`) return;
  if (push) history.pushState(null, "", address);
  else history.replaceState(null, "", address);
}
