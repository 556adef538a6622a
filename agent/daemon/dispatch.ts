// Dispatch of underlay datagrams by the spec's common header (the one
// demultiplexer of the receive path: the vnetd relay role, when on, is its
// first branch and gets the sender as already parsed), with exact
// accounting: every datagram the socket hands over ends up in exactly one of
// `softudc_underlay_rx_handled_total{kind=...}` or
// `softudc_underlay_rx_dropped_total{reason=...}`, so that handled + dropped
// equals `softudc_underlay_rx_datagrams_total` (the robustness test checks it).
// A handler that throws anything but a codec error is a bug: the datagram is
// dropped as `handler_error`, the bug reported in the log (rate-limited), and
// reception goes on.
import {
  KIND_FRAME,
  KIND_RELAY,
  KIND_VARP,
  WireError,
  decodeFrame,
  decodeRelay,
  decodeVarp,
} from '../wire/index.ts';
import type { Counters } from '../metrics.ts';
import type { Logger } from '../log.ts';
import { BugReports } from '../bug-report.ts';
import type { Switch } from '../switch/index.ts';
import type { Varp } from '../varp/index.ts';
import type { Remote } from '../underlay/udp.ts';
import { AddressCache } from '../underlay/remotes.ts';
import { dropName, HANDLER_ERROR, RX_DATAGRAMS, RX_DROPPED, RX_HANDLED } from '../underlay/rx.ts';

export { dropName, HANDLER_ERROR, RX_DATAGRAMS, RX_DROPPED, RX_HANDLED };

const HANDLED_VARP = 'softudc_underlay_rx_handled_total{kind="varp"}';
const HANDLED_FRAME = 'softudc_underlay_rx_handled_total{kind="frame"}';

/** The vnetd relay role (agent/relay/relay.ts): true when it consumed (and counted) the datagram. */
export interface RelayBranch {
  intercept(buf: Buffer, from: { address: number; port: number }): boolean;
}

export interface DispatchTarget {
  varp: Varp;
  /** Sees every datagram first, when the relay role is configured. */
  relay?: RelayBranch;
  sw: Switch;
  varpKey: Buffer | undefined;
  ownAddress: string;
  ownPort: number;
}

export class Dispatcher {
  /** Remote addresses as u32: parsing text per datagram would allocate. */
  private readonly addresses = new AddressCache();
  private readonly bugs: BugReports;

  constructor(
    private readonly counters: Counters,
    logger: Logger,
  ) {
    this.bugs = new BugReports(logger);
  }

  /** One datagram from the underlay. Never throws for any content. */
  handle(t: DispatchTarget, buf: Buffer, from: Remote): void {
    if (from.port === t.ownPort && from.address === t.ownAddress) {
      // Our own multicast, looped back by the kernel (IP_MULTICAST_LOOP).
      return this.drop('own');
    }
    if (buf.length < 4) return this.drop('truncated');
    const src = { address: this.addresses.u32(from.address), port: from.port };
    if (t.relay?.intercept(buf, src)) return;
    const kind = buf.readUInt16BE(0);
    try {
      switch (kind) {
        case KIND_VARP: {
          const msg = decodeVarp(buf, t.varpKey);
          t.varp.handle(msg, src);
          this.counters.inc(HANDLED_VARP);
          return;
        }
        case KIND_FRAME: {
          const msg = decodeFrame(buf);
          const reason = t.sw.fromUnderlay(msg, src.address, buf);
          if (reason === null) this.counters.inc(HANDLED_FRAME);
          else this.drop(`frame_${reason}`);
          return;
        }
        case KIND_RELAY:
          decodeRelay(buf);
          // The vnetd relay role is not enabled on this agent (it takes RELAYs before this).
          return this.drop('relay_unsupported');
        default:
          return this.drop('bad_kind');
      }
    } catch (err) {
      if (err instanceof WireError) return this.drop(`${kindName(kind)}_${err.code.toLowerCase()}`);
      // Not a codec error: a bug. The datagram is accounted for, and reception goes on.
      this.drop(HANDLER_ERROR);
      this.bugs.report(`underlay ${kindName(kind)} handler`, err);
    }
  }

  private drop(reason: string): void {
    this.counters.inc(dropName(reason));
  }
}

function kindName(kind: number): string {
  return kind === KIND_VARP ? 'varp' : kind === KIND_FRAME ? 'frame' : 'relay';
}
