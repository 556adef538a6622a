// The log of packets security groups drop: one token bucket for the host's
// VIFs (as a firewall's `logRate`), a smaller one per VIF under it (so one
// VIF's drops cannot take all the host's lines), and a count of the lines
// they suppressed.
import type { Counters } from '../metrics.ts';
import type { Logger } from '../log.ts';
import { TokenBucket } from '../limit/bucket.ts';

/** Log lines of drops per second, and the burst, for the whole host (as a firewall's `logRate`). */
export const SG_LOG_RATE = 10;
export const SG_LOG_BURST = 20;
/** Per VIF, under the host's: a VIF gets at most a fifth of the host's lines. */
export const SG_VIF_LOG_RATE = 2;
export const SG_VIF_LOG_BURST = 5;

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

  /** A VIF's own bucket, to pass to denied(). */
  vifBucket(rate = SG_VIF_LOG_RATE, burst = SG_VIF_LOG_BURST): TokenBucket {
    return new TokenBucket(rate, burst);
  }

  denied(fields: () => Record<string, unknown>, vif?: TokenBucket): void {
    if ((vif !== undefined && !vif.take()) || !this.bucket.take()) {
      this.suppressed++;
      this.counters.inc('softudc_sg_drop_logs_suppressed_total');
      return;
    }
    const extra = this.suppressed ? { suppressed: this.suppressed } : {};
    this.suppressed = 0;
    this.logger.warn('security groups dropped a packet', { ...fields(), ...extra });
  }
}
