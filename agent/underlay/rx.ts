// Names of the receive-path counters of the underlay socket, shared by the
// dispatcher (agent/daemon/dispatch.ts), admission and the relay: every
// datagram ends up in exactly one of handled{kind} or dropped{reason}.
export const RX_DATAGRAMS = 'softudc_underlay_rx_datagrams_total';
export const RX_HANDLED = 'softudc_underlay_rx_handled_total';
export const RX_DROPPED = 'softudc_underlay_rx_dropped_total';
/** The drop reason of a datagram whose handler threw (a bug). */
export const HANDLER_ERROR = 'handler_error';

const dropNames = new Map<string, string>();
/** The drop counter's name for `reason` (built once per reason). */
export function dropName(reason: string): string {
  let n = dropNames.get(reason);
  if (!n) dropNames.set(reason, (n = `${RX_DROPPED}{reason="${reason}"}`));
  return n;
}
