// What every browser test needs: Debian's Chromium driven by playwright-core, the app's
// address (CALENDAR_URL, given by the pytest test that started the local stack), the API
// for arranging data, screenshots, and axe-core's accessibility check.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { chromium } from "playwright-core";

export const BASE_URL = (process.env.CALENDAR_URL ?? "http://127.0.0.1:8000").replace(/\/$/, "");
const ARTIFACTS =
  process.env.BROWSER_ARTIFACTS ??
  new URL("../../../build/browser-tests/", import.meta.url).pathname;
// Without the background-networking flags Chromium phones home, and a closed network refuses
// those connections.
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: CHROMIUM_FLAGS,
  });
}

/** A browser context as a person in Seoul has it: Korean, Seoul time, a desktop window.
 * `page.errors` collects what the page threw or logged as an error; answers the API refused
 * (a 412 the page handles) are not errors of the page. */
export async function openPage(browser, address = "/") {
  const context = await browser.newContext({
    locale: "ko-KR",
    timezoneId: "Asia/Seoul",
    viewport: { width: 1400, height: 900 },
  });
  const page = await context.newPage();
  page.errors = [];
  page.on("pageerror", (error) => page.errors.push(error.message));
  page.on("console", (message) => {
    const refused = message.text().startsWith("Failed to load resource");
    if (message.type() === "error" && !refused) page.errors.push(message.text());
  });
  await page.goto(BASE_URL + address);
  await page.locator(".department[aria-pressed=true]").waitFor();
  return page;
}

export async function screenshot(page, name) {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

export async function saveArtifact(name, text) {
  await mkdir(ARTIFACTS, { recursive: true });
  await writeFile(path.join(ARTIFACTS, name), text, "utf8");
}

const axeSource = readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** axe-core's serious and critical findings on the page as it is now. Evaluated, not added as
 * a <script>: the page's Content-Security-Policy allows no inline script. */
export async function seriousAccessibilityProblems(page) {
  await page.evaluate(await axeSource);
  const violations = await page.evaluate(async () => {
    const results = await window.axe.run(document, { resultTypes: ["violations"] });
    return results.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5),
    }));
  });
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

/** The API, for arranging what a test starts from and checking what the page wrote. */
export async function callApi(method, address, body, headers = {}) {
  const response = await fetch(BASE_URL + address, {
    method,
    headers: { "Content-Type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

export function uniqueName(prefix) {
  return `${prefix} ${Date.now().toString(36)}`;
}

/** Milliseconds until `check` (polled in the page) holds, or a failure after `timeout`. */
export async function timeUntil(page, check, argument, timeout) {
  const started = performance.now();
  await page.waitForFunction(check, argument, { timeout, polling: 50 });
  return Math.round(performance.now() - started);
}

export function eventIn(day, title) {
  return `td[data-date="${day}"] .fc-event:has-text("${title}")`;
}

/** Clicks the event to open its dialog. The calendar draws its events anew whenever the feed
 * reports a change, and a click on an event being redrawn is lost: then click again. */
export async function openEvent(page, day, title) {
  const dialog = page.locator("#event-dialog[open]");
  for (let attempt = 1; ; attempt += 1) {
    await page.locator(eventIn(day, title)).click();
    try {
      await dialog.waitFor({ timeout: 1500 });
      return;
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
}

/** Drags `item` (a locator) with the mouse, grabbed near its top, and drops it where
 * `dropAt(grab)` says, given the point grabbed; answers the PATCH the drop sends. Like a click, a drag that starts or ends while
 * the calendar redraws its events is dropped without a request: then drag again. The item is
 * looked up anew each time, so a drag that did land is never repeated from the new place. */
export async function dragAndWait(page, item, dropAt) {
  for (let attempt = 1; ; attempt += 1) {
    await item.waitFor({ state: "visible" });
    const box = await item.boundingBox();
    const grab = box && { x: box.x + box.width / 2, y: box.y + Math.min(box.height / 2, 8) };
    const to = grab && (await dropAt(grab));
    if (grab && to) {
      const answer = page.waitForResponse((r) => r.request().method() === "PATCH", {
        timeout: 5000,
      });
      await page.mouse.move(grab.x, grab.y);
      await page.mouse.down();
      await page.mouse.move(to.x, to.y, { steps: 12 });
      await page.mouse.up();
      try {
        return await answer;
      } catch (error) {
        if (attempt === 3) throw error;
      }
    } else if (attempt === 3) {
      throw new Error("the item to drag, or where to drop it, was not on the page");
    }
  }
}

/** The middle of what `locator` shows, for `dragAndWait`. */
export async function middleOf(locator) {
  const box = await locator.boundingBox();
  return box && { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}
