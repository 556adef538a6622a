// Failed-login limiter: per username and per client address, at most
// LOGIN_MAX_FAILURES failures in a sliding LOGIN_WINDOW_MS window. In memory,
// per console process: with several processes an attacker gets at most that
// many tries per process, still far from a useful guessing rate.
export const LOGIN_MAX_FAILURES = 10;
export const LOGIN_WINDOW_MS = 5 * 60_000;
/** Keys kept at most; past that the oldest are dropped so a flood cannot grow memory. */
const MAX_KEYS = 50_000;

export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    readonly maxFailures = LOGIN_MAX_FAILURES,
    readonly windowMs = LOGIN_WINDOW_MS,
  ) {}

  private recent(key: string, now: number): number[] {
    const list = this.failures.get(key);
    if (!list) return [];
    const kept = list.filter((t) => now - t < this.windowMs);
    if (kept.length === 0) this.failures.delete(key);
    else if (kept.length !== list.length) this.failures.set(key, kept);
    return kept;
  }

  /** Milliseconds until `key` may try again, or 0 when it may try now. */
  retryAfterMs(key: string, now = Date.now()): number {
    const list = this.recent(key, now);
    if (list.length < this.maxFailures) return 0;
    const oldest = list[list.length - this.maxFailures] ?? now;
    return Math.max(1, oldest + this.windowMs - now);
  }

  fail(key: string, now = Date.now()): void {
    const list = this.recent(key, now);
    list.push(now);
    // Only the newest maxFailures timestamps matter for the decision.
    this.failures.delete(key);
    this.failures.set(key, list.slice(-this.maxFailures));
    if (this.failures.size > MAX_KEYS) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
  }

  clear(key: string): void {
    this.failures.delete(key);
  }

  reset(): void {
    this.failures.clear();
  }
}

/** The console's login limiter (keys: `user:<name>` and `ip:<address>`). */
export const loginLimiter = new FailureLimiter();
