// One occurrence of a weekly series, changed, moved and cancelled from the page: each is
// written through the occurrence's own path and leaves the other weeks as they were.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  callApi,
  dragAndWait,
  eventIn,
  launchBrowser,
  middleOf,
  openEvent,
  openPage,
  uniqueName,
} from "./support/browser.mjs";

function occurrence(day) {
  return eventIn(day, "주간 회의");
}

async function listed(departmentId) {
  const page = await callApi(
    "GET",
    `/api/events/${departmentId}?from=2025-03-01&to=2025-03-31&limit=100`,
  );
  return page.body.items.map((item) => [item.event_date, item.title, item.series_id !== null]);
}

describe("a weekly series", () => {
  let browser;
  let page;
  let departmentId;
  let seriesId;

  before(async () => {
    browser = await launchBrowser();
    departmentId = (await callApi("POST", "/api/departments", { name: uniqueName("반복팀") })).body
      .id;
    const series = await callApi("POST", `/api/events/${departmentId}`, {
      event_date: "2025-03-04",
      title: "주간 회의",
      start_time: "10:00",
      end_time: "11:00",
      recurrence: "FREQ=WEEKLY;BYDAY=TU;UNTIL=20250325",
    });
    seriesId = series.body.id;
    page = await openPage(browser, `/?department=${departmentId}&date=2025-03-10`);
    await page.locator(occurrence("2025-03-25")).waitFor();
  });

  after(async () => {
    await browser?.close();
  });

  async function openOccurrence(day) {
    await openEvent(page, day, "주간 회의");
    // The dialog says only this date changes
    assert.equal(await page.locator("#event-occurrence-note").isVisible(), true);
  }

  it("changes one occurrence's title through the occurrence's path", async () => {
    await openOccurrence("2025-03-11");
    await page.getByLabel("제목").fill("주간 회의 (11일만)");
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "PATCH"),
      page.locator("#event-save").click(),
    ]);
    assert.equal(answer.status(), 200);
    assert.match(
      answer.url(),
      new RegExp(`/api/events/${departmentId}/${seriesId}/occurrences/2025-03-11$`),
    );
    await page.locator('td[data-date="2025-03-11"] .fc-event:has-text("11일만")').waitFor();
    assert.deepEqual(await listed(departmentId), [
      ["2025-03-04", "주간 회의", true],
      ["2025-03-11", "주간 회의 (11일만)", true],
      ["2025-03-18", "주간 회의", true],
      ["2025-03-25", "주간 회의", true],
    ]);
  });

  it("moves one occurrence by dragging it", async () => {
    const answer = await dragAndWait(page, page.locator(occurrence("2025-03-18")), () =>
      middleOf(page.locator('td[data-date="2025-03-20"] .fc-daygrid-day-frame')),
    );
    assert.equal(answer.status(), 200);
    assert.match(answer.url(), /\/occurrences\/2025-03-18$/);
    await page.locator(occurrence("2025-03-20")).waitFor();
    assert.deepEqual(
      (await listed(departmentId)).map(([day]) => day),
      ["2025-03-04", "2025-03-11", "2025-03-20", "2025-03-25"],
    );
  });

  it("cancels one occurrence, and the series keeps the rest", async () => {
    await openOccurrence("2025-03-25");
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "DELETE"),
      page.locator("#event-delete").click(),
    ]);
    assert.equal(answer.status(), 204);
    assert.match(answer.url(), /\/occurrences\/2025-03-25$/);
    await page.locator(occurrence("2025-03-25")).waitFor({ state: "detached" });
    const series = await callApi("GET", `/api/events/${departmentId}/${seriesId}`);
    assert.deepEqual(series.body.exdates, ["2025-03-25"]);
    assert.deepEqual(
      (await listed(departmentId)).map(([day]) => day),
      ["2025-03-04", "2025-03-11", "2025-03-20"],
    );
    assert.deepEqual(page.errors, []);
  });
});
