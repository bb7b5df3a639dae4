// Live updates: the department's change feed, polled every second. The first read (without
// `since`) gives a sync token; each later read answers what changed since and a new token.
// When anything changed, the calendar reads its visible dates again.
import { api } from "./api";

const EVERY_MS = 1000;
// A feed that is not there (an older server) or a department deleted elsewhere: ask rarely.
const AFTER_NOT_FOUND_MS = 10_000;

export class ChangeFeed {
  private departmentId: string | null = null;
  private token: string | null = null;
  private timer: number | undefined;
  // Each follow() starts a new generation; answers of an older one are dropped.
  private generation = 0;

  constructor(private readonly onChange: () => void) {}

  follow(departmentId: string): void {
    if (departmentId === this.departmentId) return;
    this.departmentId = departmentId;
    this.token = null;
    this.generation += 1;
    window.clearTimeout(this.timer);
    void this.poll(this.generation);
  }

  private async poll(generation: number): Promise<void> {
    let delay = EVERY_MS;
    try {
      delay = await this.read();
    } catch {
      // Offline for a moment: try again on the next tick.
    }
    if (generation === this.generation) {
      this.timer = window.setTimeout(() => void this.poll(generation), delay);
    }
  }

  /** One read of the feed; answers how long to wait before the next. */
  private async read(): Promise<number> {
    const departmentId = this.departmentId;
    if (!departmentId) return EVERY_MS;
    const since = this.token;
    const { data, response } = await api.GET("/api/departments/{department_id}/changes", {
      params: { path: { department_id: departmentId }, query: since ? { since } : {} },
    });
    if (departmentId !== this.departmentId) return EVERY_MS;
    if (data) {
      this.token = data.sync_token;
      // The first token also covers a change made between the calendar's own read and this
      // one; reading the dates again once makes sure it is shown.
      if (since === null || data.changes.length > 0) this.onChange();
      return EVERY_MS;
    }
    if (response.status === 410 || response.status === 400) {
      // Too old, or not a token of this feed: start over, and read everything again.
      this.token = null;
      return 0;
    }
    return response.status === 404 ? AFTER_NOT_FOUND_MS : EVERY_MS;
  }
}
