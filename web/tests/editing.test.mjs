// Two people on the same department: one creates, edits, moves (to another day in the month,
// another hour in the week) and deletes an event with the mouse, the other sees each change
// within two seconds without reloading; a change based on
// an old version is refused and says so; the department list adds and renames.
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
  saveArtifact,
  screenshot,
  timeUntil,
  uniqueName,
} from "./support/browser.mjs";

// The change feed is polled every second; a change must show in the other window within 2 s.
const LIVE_MS = 2000;
const latencies = {};

/** Waits in `page` until an event titled `title` shows on `day` (or, with `gone`, until none
 * does), and records how long that took under `name`. */
async function seenLive(page, name, day, title, gone = false) {
  const ms = await timeUntil(
    page,
    ([date, wanted, absent]) => {
      const events = document.querySelectorAll(`td[data-date="${date}"] .fc-event`);
      const shown = [...events].some((event) => event.textContent.includes(wanted));
      return shown !== absent;
    },
    [day, title, gone],
    LIVE_MS * 3,
  );
  latencies[name] = ms;
  return ms;
}

/** Presses the dialog's button and waits for the API's answer to the write it sends. */
async function saveAndWait(page, button, method) {
  const [answer] = await Promise.all([
    page.waitForResponse(
      (r) => r.request().method() === method && r.url().includes("/api/events/"),
    ),
    page.locator(button).click(),
  ]);
  return answer;
}

describe("editing together", () => {
  let browser;
  let alice; // makes the changes
  let bob; // watches them arrive
  let departmentName;
  let departmentId;
  let eventId;

  before(async () => {
    browser = await launchBrowser();
    alice = await openPage(browser, "/?date=2025-03-10");
  });

  after(async () => {
    await saveArtifact("live-latencies.json", JSON.stringify(latencies, null, 1));
    await browser?.close();
  });

  it("creates a department from the list, and the address names it", async () => {
    departmentName = uniqueName("브라우저팀");
    await alice.getByLabel("새 부서 이름").fill(departmentName);
    await alice.getByRole("button", { name: "부서 추가" }).click();
    const chosen = alice.locator(".department[aria-pressed=true]", { hasText: departmentName });
    await chosen.waitFor();
    await alice.waitForURL(/department=/);
    departmentId = new URL(alice.url()).searchParams.get("department");
    assert.equal(new URL(alice.url()).searchParams.get("date"), "2025-03-10");
    // Bob opens the same address, as a shared link
    bob = await openPage(browser, new URL(alice.url()).pathname + new URL(alice.url()).search);
    assert.equal(await bob.locator(".department[aria-pressed=true]").textContent(), departmentName);
  });

  it("creates an event by clicking a day", async () => {
    // When Alice clicks 12 March and fills in the dialog
    await alice.locator('td[data-date="2025-03-12"] .fc-daygrid-day-frame').click({
      position: { x: 20, y: 60 },
    });
    const dialog = alice.locator("#event-dialog[open]");
    await dialog.waitFor();
    assert.equal(await alice.locator("#event-date").inputValue(), "2025-03-12");
    await alice.getByLabel("제목").fill("브라우저 회의");
    await alice.getByLabel("종일").uncheck();
    await alice.getByLabel("시작").fill("14:00");
    await alice.getByLabel("종료").fill("15:00");
    const answer = await saveAndWait(alice, "#event-save", "POST");
    assert.equal(answer.status(), 201);
    eventId = (await answer.json()).id;
    // Then both see it on that day, Bob within two seconds
    await seenLive(bob, "created", "2025-03-12", "브라우저 회의");
    await alice.locator(eventIn("2025-03-12", "브라우저 회의")).waitFor();
    assert.equal(await dialog.count(), 0);
    const stored = await callApi("GET", `/api/events/${departmentId}/${eventId}`);
    assert.deepEqual(
      [stored.body.title, stored.body.start_time, stored.body.end_time, stored.body.all_day],
      ["브라우저 회의", "14:00", "15:00", false],
    );
    await screenshot(bob, "live-created");
  });

  it("edits it by clicking it", async () => {
    await openEvent(alice, "2025-03-12", "브라우저 회의");
    assert.equal(await alice.getByLabel("시작").inputValue(), "14:00");
    await alice.getByLabel("제목").fill("브라우저 회의 (변경)");
    const answer = await saveAndWait(alice, "#event-save", "PATCH");
    assert.equal(answer.status(), 200);
    assert.equal(answer.request().headers()["if-match"], '"1"');
    await seenLive(bob, "changed", "2025-03-12", "브라우저 회의 (변경)");
  });

  it("moves it by dragging it to another day", async () => {
    // When Alice drags the event from the 12th to the 14th
    const answer = await dragAndWait(
      alice,
      alice.locator(eventIn("2025-03-12", "브라우저 회의 (변경)")),
      () => middleOf(alice.locator('td[data-date="2025-03-14"] .fc-daygrid-day-frame')),
    );
    // Then the API was told the new day, with the version she saw, and the time is kept
    assert.equal(answer.status(), 200);
    assert.equal(answer.request().headers()["if-match"], '"2"');
    assert.deepEqual(JSON.parse(answer.request().postData()), {
      event_date: "2025-03-14",
      start_time: "14:00",
      end_time: "15:00",
      time: "14:00~15:00",
    });
    await seenLive(bob, "moved", "2025-03-14", "브라우저 회의 (변경)");
    assert.equal(await bob.locator(eventIn("2025-03-12", "브라우저 회의")).count(), 0);
  });

  it("moves it to another hour by dragging it in the week", async () => {
    // Given Alice looks at the week
    await alice.getByRole("button", { name: "주", exact: true }).click();
    const event = alice.locator(".fc-timegrid-event", { hasText: "브라우저 회의 (변경)" });
    await event.waitFor();
    // When she drags it two hours later on the same day
    const lane = (time) => alice.locator(`td.fc-timegrid-slot-lane[data-time="${time}"]`);
    const answer = await dragAndWait(alice, event, async (grab) => {
      const two = await lane("14:00:00").boundingBox();
      const four = await lane("16:00:00").boundingBox();
      return two && four && { x: grab.x, y: grab.y + (four.y - two.y) };
    });
    // Then the event keeps its day and length and starts at 16:00
    assert.equal(answer.status(), 200);
    assert.deepEqual(JSON.parse(answer.request().postData()), {
      event_date: "2025-03-14",
      start_time: "16:00",
      end_time: "17:00",
      time: "16:00~17:00",
    });
    // And Bob, on the month, sees the new hour
    await seenLive(bob, "moved in the week", "2025-03-14", "오후 4시");
    await alice.getByRole("button", { name: "월", exact: true }).click();
    await alice.locator(eventIn("2025-03-14", "브라우저 회의 (변경)")).waitFor();
  });

  it("refuses a change based on an old version, and says whose turn it was", async () => {
    // Given Bob has the event open
    await openEvent(bob, "2025-03-14", "브라우저 회의 (변경)");
    // When Alice changes it first
    await openEvent(alice, "2025-03-14", "브라우저 회의 (변경)");
    await alice.getByLabel("설명").fill("안건: 배포 일정");
    await saveAndWait(alice, "#event-save", "PATCH");
    // And Bob then saves his change
    await bob.getByLabel("제목").fill("밥의 제목");
    const answer = await saveAndWait(bob, "#event-save", "PATCH");
    // Then it is refused, and Bob is told so with the version the event has now
    assert.equal(answer.status(), 412);
    const message = bob.locator("#event-dialog-message");
    await message.waitFor();
    assert.match(await message.textContent(), /다른 사람이 먼저 바꿨습니다 \(현재 버전 5\)/);
    await screenshot(bob, "stale-version");
    await bob.getByRole("button", { name: "닫기" }).click();
    const stored = await callApi("GET", `/api/events/${departmentId}/${eventId}`);
    assert.equal(stored.body.title, "브라우저 회의 (변경)");
  });

  it("shows the selected event's history and the department's inbox", async () => {
    await openEvent(alice, "2025-03-14", "브라우저 회의 (변경)");
    await alice.getByRole("button", { name: "닫기" }).click();
    const history = alice.locator("#history-list");
    await history.getByText("제목: 브라우저 회의 → 브라우저 회의 (변경)").waitFor();
    await history.getByText("날짜: 2025-03-12 → 2025-03-14", { exact: false }).waitFor();
    await alice.locator("#inbox-list").getByText("새 일정: 브라우저 회의").first().waitFor();
    await screenshot(alice, "history-and-inbox");
  });

  it("deletes it from its dialog", async () => {
    await openEvent(alice, "2025-03-14", "브라우저 회의 (변경)");
    const answer = await saveAndWait(alice, "#event-delete", "DELETE");
    assert.equal(answer.status(), 204);
    await seenLive(bob, "deleted", "2025-03-14", "브라우저 회의", true);
    assert.equal((await callApi("GET", `/api/events/${departmentId}/${eventId}`)).status, 404);
  });

  it("renames the department, and refuses a rename based on an old version", async () => {
    // When Alice renames it
    await alice.getByRole("button", { name: `${departmentName} 이름 바꾸기` }).click();
    await alice.getByRole("textbox", { name: "새 이름" }).fill(`${departmentName} (개편)`);
    await alice.locator("#rename-form").getByRole("button", { name: "저장" }).click();
    await alice.locator(".department", { hasText: `${departmentName} (개편)` }).waitFor();
    // And Bob, whose list still has the old version, renames it too
    await bob.getByRole("button", { name: `${departmentName} 이름 바꾸기` }).click();
    await bob.getByRole("textbox", { name: "새 이름" }).fill("밥의 부서 이름");
    await bob.locator("#rename-form").getByRole("button", { name: "저장" }).click();
    // Then Bob is told someone was first
    await bob
      .locator("#rename-dialog-message", { hasText: "다른 사람이 먼저 바꿨습니다" })
      .waitFor();
    const stored = await callApi("GET", `/api/departments/${departmentId}`);
    assert.equal(stored.body.name, `${departmentName} (개편)`);
  });

  it("saw every change live within two seconds, and the pages logged no error", () => {
    assert.deepEqual(Object.keys(latencies), [
      "created",
      "changed",
      "moved",
      "moved in the week",
      "deleted",
    ]);
    const late = Object.entries(latencies).filter(([, ms]) => ms > LIVE_MS);
    assert.deepEqual(late, [], `latencies: ${JSON.stringify(latencies)}`);
    assert.deepEqual([...alice.errors, ...bob.errors], []);
  });
});
