// A token bucket counted in events: `rate` per second up to `burst`. Limits
// how often a node sends ICMP errors (RFC 1812 4.3.2.8) and writes log lines
// (a firewall's denied flows). The per-VIF bandwidth limit (shaper.ts) is a
// byte bucket with a queue, in the same folder.
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  take(): boolean {
    const t = this.now();
    if (t > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.rate);
      this.last = t;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
