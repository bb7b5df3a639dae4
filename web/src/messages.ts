// One line at the top of the page for what just happened: a confirmation (read politely by
// screen readers) or an error (read at once). Each clears itself after a while.
import { element, show } from "./elements";

const SHOWN_MS = 8000;
const status = element("status", HTMLParagraphElement);
const problem = element("alert", HTMLParagraphElement);
let clearing: number | undefined;

export function report(text: string, isError: boolean): void {
  show(isError ? problem : status, text);
  show(isError ? status : problem, "");
  window.clearTimeout(clearing);
  clearing = window.setTimeout(() => {
    show(status, "");
    show(problem, "");
  }, SHOWN_MS);
}
