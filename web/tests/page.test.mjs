// The page as someone opens it: served whole by the app, in Korean, holidays marked, three
// views, deep links, and nothing axe-core calls serious.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  BASE_URL,
  callApi,
  launchBrowser,
  openPage,
  screenshot,
  seriousAccessibilityProblems,
  uniqueName,
} from "./support/browser.mjs";

describe("the calendar page", () => {
  let browser;
  let department;

  before(async () => {
    browser = await launchBrowser();
    const created = await callApi("POST", "/api/departments", { name: uniqueName("보기팀") });
    department = created.body;
    await callApi("POST", `/api/events/${department.id}`, {
      event_date: "2025-03-12",
      title: "분기 회의",
      start_time: "14:00",
      end_time: "15:00",
    });
  });

  after(async () => {
    await browser?.close();
  });

  it("loads everything from the app itself and shows the department's month", async () => {
    // Given a browser that notes every address the page asks for
    const context = await browser.newContext({ locale: "ko-KR", timezoneId: "Asia/Seoul" });
    const page = await context.newPage();
    const requested = [];
    page.on("request", (request) => requested.push(request.url()));
    // When it opens a deep link to the department in March 2025
    await page.goto(`${BASE_URL}/?department=${department.id}&date=2025-03-10`);
    // Then the month shows the department's event, and nothing came from elsewhere
    await page.locator(".fc-event", { hasText: "분기 회의" }).waitFor();
    assert.equal(await page.locator(".fc-toolbar-title").textContent(), "2025년 3월");
    const elsewhere = requested.filter(
      (url) => !url.startsWith(BASE_URL) && !url.startsWith("data:"),
    );
    assert.deepEqual(elsewhere, []);
    await context.close();
  });

  it("writes Korean with a real font, not empty boxes", async () => {
    const page = await openPage(browser, `/?department=${department.id}&date=2025-03-10`);
    assert.equal(await page.locator("h1").textContent(), "부서 일정");
    // Two Hangul syllables drawn in the page's font: with no Korean font both would be the same
    // placeholder box.
    const drawn = await page.evaluate(() => {
      const font = getComputedStyle(document.body).fontFamily;
      const draw = (text) => {
        const canvas = document.createElement("canvas");
        canvas.width = canvas.height = 64;
        const pen = canvas.getContext("2d");
        pen.font = `40px ${font}`;
        pen.fillText(text, 4, 48);
        return pen.getImageData(0, 0, 64, 64).data.join(",");
      };
      return { ga: draw("가"), na: draw("나"), blank: draw(" ") };
    });
    assert.notEqual(drawn.ga, drawn.blank, "가 leaves no ink");
    assert.notEqual(drawn.ga, drawn.na, "가 and 나 look the same: no Korean font");
    await screenshot(page, "month");
    assert.deepEqual(page.errors, []);
  });

  it("marks public holidays", async () => {
    const page = await openPage(browser, `/?department=${department.id}&date=2025-03-10`);
    // 2025-03-01 is 삼일절, and 03-03 its substitute holiday
    const holiday = page.locator(".fc-event.holiday", { hasText: /^삼일절$/ });
    await holiday.waitFor();
    assert.equal(await holiday.count(), 1);
    assert.ok(await page.locator('td[data-date="2025-03-03"] .holiday').count());
  });

  it("shows the month, a week and a list, and the address follows", async () => {
    const page = await openPage(browser, `/?department=${department.id}&date=2025-03-10`);
    // When the week view is chosen
    await page.getByRole("button", { name: "주", exact: true }).click();
    // Then the event is at its hour, and the address names the view
    await page.locator(".fc-timegrid-event", { hasText: "분기 회의" }).waitFor();
    assert.match(page.url(), /view=timeGridWeek/);
    await screenshot(page, "week");
    // When the list is chosen
    await page.getByRole("button", { name: "일정목록" }).click();
    await page.locator(".fc-list-event", { hasText: "분기 회의" }).waitFor();
    assert.match(page.url(), /view=listMonth/);
    await screenshot(page, "list");
    // When the next month is shown
    await page.getByRole("button", { name: "다음", exact: true }).click();
    await page.waitForURL(/date=2025-04-/);
    // Then reloading the address shows the same department, date and view
    const address = page.url();
    await page.reload();
    await page.locator(".department[aria-pressed=true]").waitFor();
    assert.equal(await page.locator(".fc-toolbar-title").textContent(), "2025년 4월");
    assert.equal(page.url(), address);
    assert.equal(
      await page.locator(".department[aria-pressed=true]").textContent(),
      department.name,
    );
  });

  it("has no serious or critical accessibility problem, in any view or the dialog", async () => {
    const page = await openPage(browser, `/?department=${department.id}&date=2025-03-10`);
    await page.locator(".fc-event", { hasText: "분기 회의" }).waitFor();
    const problems = { month: await seriousAccessibilityProblems(page) };
    await page.getByRole("button", { name: "주", exact: true }).click();
    await page.locator(".fc-timegrid-event").first().waitFor();
    problems.week = await seriousAccessibilityProblems(page);
    await page.getByRole("button", { name: "일정목록" }).click();
    await page.locator(".fc-list-event").first().waitFor();
    problems.list = await seriousAccessibilityProblems(page);
    await page.locator(".fc-list-event", { hasText: "분기 회의" }).click();
    await page.locator("#event-dialog[open]").waitFor();
    problems.dialog = await seriousAccessibilityProblems(page);
    await screenshot(page, "event-dialog");
    assert.deepEqual(problems, { month: [], week: [], list: [], dialog: [] });
  });
});
