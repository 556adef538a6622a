// Sends datagrams from a generator at an agent's underlay port as fast as
// loopback takes them, never more than MAX_AHEAD ahead of what the agent has
// counted (so the kernel's receive buffer does not overflow and the test
// measures the agent, not the socket), then waits for the agent to drain.
import dgram from 'node:dgram';
import { readFile } from 'node:fs/promises';
import type { AgentProcess } from './agent-process.ts';

export const RX = 'softudc_underlay_rx_datagrams_total';
export const HANDLED = 'softudc_underlay_rx_handled_total';
export const DROPPED = 'softudc_underlay_rx_dropped_total';

const BATCH = 200;

export interface BlastOptions {
  /** Never more than this many datagrams ahead of what the agent has counted (default 2,000: no kernel losses). */
  maxAhead?: number;
  /** Called every maxAhead / 2 datagrams, before the agent is waited for. */
  onProgress?: (sent: number) => void | Promise<void>;
}

export interface BlastResult {
  sent: number;
  /** Datagrams the agent counted as received during the blast. */
  received: number;
  sendMs: number;
  /** UDP receive-buffer overflows of the whole machine during the blast, null where /proc/net/snmp is not readable. */
  kernelDrops: number | null;
}

/** UDP receive-buffer overflows of the whole machine (/proc/net/snmp), to explain kernel losses. */
async function rcvbufErrors(): Promise<number | null> {
  try {
    const lines = (await readFile('/proc/net/snmp', 'utf8')).split('\n').filter((l) => l.startsWith('Udp:'));
    const names = lines[0]!.split(/\s+/);
    const values = lines[1]!.split(/\s+/);
    return Number(values[names.indexOf('RcvbufErrors')]);
  } catch {
    return null;
  }
}

/** Waits until the agent's receive counter stops moving; its metrics then. */
export async function drained(agent: AgentProcess): Promise<Map<string, number>> {
  let m = await agent.metrics();
  for (let last = -1; m.get(RX) !== last; ) {
    last = m.get(RX)!;
    await new Promise((r) => setTimeout(r, 300));
    m = await agent.metrics();
  }
  return m;
}

export async function blast(
  agent: AgentProcess,
  to: { address: string; port: number },
  from: string,
  total: number,
  next: () => Buffer,
  opts: BlastOptions = {},
): Promise<BlastResult> {
  const maxAhead = opts.maxAhead ?? 2_000;
  const rx0 = (await agent.metrics()).get(RX) ?? 0;
  const kernelBefore = await rcvbufErrors();
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((ok) => sock.bind(0, from, ok));
  const t0 = performance.now();
  let sent = 0;
  try {
    while (sent < total) {
      const n = Math.min(BATCH, total - sent);
      await Promise.all(Array.from({ length: n }, () => new Promise<void>((ok) => sock.send(next(), to.port, to.address, () => ok()))));
      sent += n;
      if (sent % (maxAhead / 2) === 0 || sent === total) {
        await opts.onProgress?.(sent);
        // Wait for the agent to catch up; give up after a while (what was lost in the kernel never arrives).
        for (let i = 0; i < 50; i++) {
          if (agent.child.exitCode !== null) throw new Error(`${agent.name} exited (${agent.child.exitCode}) after ${sent} datagrams\n${agent.logs.slice(-20).join('\n')}`);
          const rx = ((await agent.metrics()).get(RX) ?? 0) - rx0;
          if (rx >= sent - maxAhead) break;
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    }
  } finally {
    sock.close();
  }
  const sendMs = performance.now() - t0;
  const m = await drained(agent);
  const kernelAfter = await rcvbufErrors();
  return { sent, received: (m.get(RX) ?? 0) - rx0, sendMs, kernelDrops: kernelBefore === null || kernelAfter === null ? null : kernelAfter - kernelBefore };
}
