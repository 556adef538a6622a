// `softudc trace FARM FROM TO [--tcp PORT|--udp PORT|--icmp] [--live] [--json]`:
// the packet trace of a deployed farm (docs/operations.md "Packet trace").
// FROM is a VM (its first VIF), VM/IFNAME, a VIF id, or external:ADDRESS.
import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '../server/routers/_app.ts';
import { allowOnly, type Args } from './args.ts';
import { findFarm, type Api } from './api.ts';
import { CliError, EXIT } from './errors.ts';

type Trace = inferRouterOutputs<AppRouter>['farm']['trace'];
type Farm = inferRouterOutputs<AppRouter>['farm']['get'];

const print = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

function portOf(text: string | true, key: string): number {
  const n = text === true ? Number.NaN : Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65_535) throw new CliError(EXIT.usage, `--${key} needs a port 1..65535 (--${key} PORT)`);
  return n;
}

function protocolOf(a: Args): { protocol: 'tcp' | 'udp' | 'icmp'; port: number | null } {
  const given = (['tcp', 'udp', 'icmp'] as const).filter((k) => a.options.has(k));
  if (given.length > 1) throw new CliError(EXIT.usage, 'give one of --tcp PORT, --udp PORT, --icmp');
  const p = given[0] ?? 'icmp';
  if (p === 'icmp') {
    if (a.options.has('icmp') && a.options.get('icmp') !== true) throw new CliError(EXIT.usage, '--icmp takes no port');
    return { protocol: 'icmp', port: null };
  }
  return { protocol: p, port: portOf(a.options.get(p)!, p) };
}

/** `vm`, `vm/ifname`, a VIF id, or `external:ADDRESS`. */
function sourceOf(farm: Farm, ref: string): { vif: string } | { external: string } {
  if (ref.startsWith('external:')) return { external: ref.slice('external:'.length) };
  for (const vm of farm.vms) for (const v of vm.vifs) if (v.id === ref) return { vif: v.id };
  const [vmName, ifname] = ref.split('/', 2);
  const vm = farm.vms.find((x) => x.name === vmName);
  if (!vm) throw new CliError(EXIT.notFound, `farm ${farm.name} has no VM "${vmName}" (FROM is VM, VM/IFNAME, a VIF id or external:ADDRESS)`);
  const vif = ifname === undefined ? vm.vifs[0] : vm.vifs.find((v) => v.name === ifname);
  if (!vif) throw new CliError(EXIT.notFound, `VM ${vm.name} has no interface${ifname === undefined ? '' : ` "${ifname}"`}`);
  return { vif: vif.id };
}

const MARK = { pass: 'ok  ', drop: 'DROP', deliver: 'DELV', unknown: '??  ' } as const;

export function formatTrace(t: Trace): string[] {
  const port = t.flow.port === null ? '' : ` port ${t.flow.port}`;
  const lines = [`trace ${t.flow.protocol} ${t.flow.src} -> ${t.flow.dst}${port}${t.live ? ' (live)' : ''}`];
  t.hops.forEach((h, i) => {
    const where = h.host ? ` on ${h.host.name}` : '';
    lines.push(`${String(i + 1).padStart(2)}. ${MARK[h.verdict]} ${h.step} ${h.node.kind} ${h.node.name}${where}: ${h.reason}`);
    if (h.decidedBy) lines.push(`           by ${h.decidedBy.text}`);
    if (h.live) lines.push(`           live${h.live.agrees ? '' : ' DISAGREES'}: ${h.live.state}`);
  });
  const failed = t.failedAt === null ? null : t.hops[t.failedAt]!;
  lines.push(t.verdict === 'delivered' ? 'delivered' : `${t.verdict} at hop ${t.failedAt! + 1}${failed?.host ? ` on ${failed.host.name}` : ''}: ${failed?.reason ?? ''}`);
  return lines;
}

export async function trace(api: Api, a: Args): Promise<void> {
  allowOnly(a, ['json', 'tcp', 'udp', 'icmp', 'live']);
  const [farmRef, fromRef, to, ...rest] = a.words;
  if (!farmRef || !fromRef || !to) throw new CliError(EXIT.usage, 'usage: softudc trace FARM FROM TO [--tcp PORT|--udp PORT|--icmp] [--live] [--json]');
  if (rest.length) throw new CliError(EXIT.usage, `unexpected argument "${rest[0]}"`);
  const { protocol, port } = protocolOf(a);
  const ref = await findFarm(api, farmRef);
  if (!ref) throw new CliError(EXIT.notFound, `no farm named or with id "${farmRef}"`);
  const farm = await api.farm.get.query({ id: ref.id });
  const t = await api.farm.trace.query({ id: farm.id, from: sourceOf(farm, fromRef), to, protocol, port, live: a.options.get('live') === true });
  if (a.options.get('json') === true) print(JSON.stringify(t, null, 2));
  else for (const l of formatTrace(t)) print(l);
  if (t.verdict !== 'delivered') process.exitCode = EXIT.dropped;
}
