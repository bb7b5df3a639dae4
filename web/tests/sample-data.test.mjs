// What the guide promises on `make run`: the sample 개발팀 opened by a deep link shows its 팀 회의,
// and events written through the API (by anyone, not this page) appear and disappear live.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { callApi, eventIn, launchBrowser, openPage, timeUntil } from "./support/browser.mjs";

const LIVE_WITHIN_MS = 2000;

describe("the sample data on the page", () => {
  let browser;

  before(async () => {
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
  });

  it("shows 팀 회의 in January 2024 and follows API writes within two seconds", async () => {
    // Given the page opened at /?department=<개발팀>&date=2024-01-20
    const departments = (await callApi("GET", "/api/departments?limit=100")).body.items;
    const development = departments.find((department) => department.name === "개발팀");
    assert.ok(development, "the sample data has 개발팀");
    const page = await openPage(browser, `/?department=${development.id}&date=2024-01-20`);
    await page.locator(eventIn("2024-01-20", "팀 회의")).waitFor();
    assert.equal(await page.locator(".fc-toolbar-title").textContent(), "2024년 1월");
    // When an event of that month is created through the API
    const created = await callApi("POST", `/api/events/${development.id}`, {
      event_date: "2024-01-24",
      title: "API에서 만든 일정",
    });
    assert.equal(created.status, 201);
    const shown = await timeUntil(
      page,
      (selector) => document.querySelector(selector) !== null,
      'td[data-date="2024-01-24"] .fc-event',
      LIVE_WITHIN_MS + 3000,
    );
    // And deleted again
    const deleted = await callApi("DELETE", `/api/events/${development.id}/${created.body.id}`);
    assert.equal(deleted.status, 204);
    const gone = await timeUntil(
      page,
      (selector) => document.querySelector(selector) === null,
      'td[data-date="2024-01-24"] .fc-event',
      LIVE_WITHIN_MS + 3000,
    );
    // Then the page showed each within two seconds, and 팀 회의 stays
    assert.ok(shown <= LIVE_WITHIN_MS, `appeared after ${shown} ms`);
    assert.ok(gone <= LIVE_WITHIN_MS, `disappeared after ${gone} ms`);
    assert.equal(await page.locator(eventIn("2024-01-20", "팀 회의")).count(), 1);
    assert.deepEqual(page.errors, []);
  });
});
