// What the agents report about their underlay sockets after a run: which
// socket carried the datagrams and how well they were batched.
import { metricSum, type AgentProcess } from '../../test/netns/agents.ts';

/** How the agents' underlay sockets moved the datagrams of the runs above (counters since start). */
export async function underlayReport(a: AgentProcess, b: AgentProcess): Promise<void> {
  const mode = (p: AgentProcess) => {
    const line = p.logs.find((l) => l.includes('"underlay socket"'));
    if (!line) return 'unknown';
    const f = JSON.parse(line) as { io: string; gso?: boolean; gro?: boolean; reason?: string };
    return f.io === 'batched' ? `batched (GSO ${f.gso ? 'on' : 'off'}, GRO ${f.gro ? 'on' : 'off'})` : `dgram (${f.reason ?? ''})`;
  };
  console.log(`\nUnderlay I/O (host A → host B, since the agents started): ${mode(a)}`);
  try {
    const ma = await a.metrics();
    const mb = await b.metrics();
    const tx = metricSum(ma, 'softudc_underlay_tx_datagrams_total');
    const calls = metricSum(ma, 'softudc_underlay_tx_syscalls_total');
    const gso = metricSum(ma, 'softudc_underlay_tx_gso_messages_total');
    const rx = metricSum(mb, 'softudc_underlay_rx_datagrams_total');
    const batches = metricSum(mb, 'softudc_underlay_rx_batches_total');
    if (calls > 0) console.log(`  host A sent ${tx} datagrams in ${calls} sendmmsg calls (${(tx / calls).toFixed(1)} per call), ${gso} GSO messages`);
    if (batches > 0) console.log(`  host B received ${rx} datagrams in ${batches} recvmmsg batches (${(rx / batches).toFixed(1)} per batch)`);
    const errors = metricSum(ma, 'softudc_underlay_tx_errors_total') + metricSum(mb, 'softudc_underlay_tx_errors_total');
    if (errors > 0) console.log(`  send errors: ${errors}`);
  } catch (err) {
    console.log(`  (metrics unavailable: ${(err as Error).message})`);
  }
}

