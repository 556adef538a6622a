// The log of packets security groups drop: one token bucket for the host's
// VIFs (as a firewall's `logRate`), and a count of the lines it suppressed.
import type { Counters } from '../metrics.ts';
import type { Logger } from '../log.ts';
import { TokenBucket } from '../limit/bucket.ts';

/** Log lines of drops per second, and the burst, for the whole host (as a firewall's `logRate`). */
export const SG_LOG_RATE = 10;
export const SG_LOG_BURST = 20;

/** The log of drops, shared by the VIFs of a host: one token bucket, and how many lines it suppressed. */
export class SgDropLog {
  private readonly bucket: TokenBucket;
  private suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly counters: Counters,
    rate = SG_LOG_RATE,
    burst = SG_LOG_BURST,
  ) {
    this.bucket = new TokenBucket(rate, burst);
  }

  denied(fields: () => Record<string, unknown>): void {
    if (!this.bucket.take()) {
      this.suppressed++;
      this.counters.inc('softudc_sg_drop_logs_suppressed_total');
      return;
    }
    const extra = this.suppressed ? { suppressed: this.suppressed } : {};
    this.suppressed = 0;
    this.logger.warn('security groups dropped a packet', { ...fields(), ...extra });
  }
}
