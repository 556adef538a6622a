// What the CLI prints for people: tables, a plan's diff, progress. With
// --json a command prints the API's answer instead (cli/main.ts).
import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '../server/routers/_app.ts';

type Out = inferRouterOutputs<AppRouter>;
export type DocumentPlan = Out['farm']['planDocument'];
export type DocumentChange = DocumentPlan['changes'][number];
export type HostDiff = DocumentPlan['hosts'][number];

/** Columns padded to their widest cell. */
export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

const SIGN = { add: '+', change: '~', remove: '-' } as const;
const KIND_WORD: Record<DocumentChange['kind'], string> = {
  farm: 'farm', vnet: 'vnet', vm: 'vm', router: 'router', routerLink: 'router link', firewall: 'firewall', securityGroup: 'security group',
  layout: 'layout of',
};

/** One change: `~ vm web-1` and its fields, `host: "h1" → "h2"`. */
export function formatChange(c: DocumentChange): string[] {
  const head = `  ${SIGN[c.op]} ${KIND_WORD[c.kind]} ${c.name}`;
  // A new item's unset options (null) say nothing.
  const fields = c.fields.filter((f) => !(c.op === 'add' && f.after === 'null')).map((f) => {
    if (c.op === 'add') return `      ${f.path}: ${f.after}`;
    if (c.op === 'remove') return `      ${f.path}: ${f.before}`;
    return `      ${f.path}: ${f.before ?? '(none)'} → ${f.after ?? '(none)'}`;
  });
  // A removal lists what goes only in short: the item's name says it.
  return c.op === 'remove' ? [head] : [head, ...fields];
}

function formatHost(h: HostDiff): string {
  const parts: string[] = [];
  for (const kind of ['vnets', 'vifs', 'routers', 'firewalls'] as const) {
    const d = h[kind];
    const word = kind.slice(0, -1);
    for (const x of d.added) parts.push(`+${word} ${x}`);
    for (const x of d.changed) parts.push(`~${word} ${x}`);
    for (const x of d.removed) parts.push(`-${word} ${x}`);
  }
  if (h.underlayChanged) parts.push('~underlay (peers)');
  const sign = h.kind === 'added' ? '+' : h.kind === 'removed' ? '-' : '~';
  return `  ${sign} ${h.host}: ${parts.join(', ') || 'state changes'}`;
}

/** The plan of a document, as `softudc plan` prints it. */
export function formatPlan(p: DocumentPlan): string {
  const lines: string[] = [];
  if (p.farmId === null) lines.push(`farm ${p.name}: new (apply creates it)`);
  else {
    const deployed = p.deployedRevision === null ? 'not deployed' : `deployed revision ${p.deployedRevision}`;
    lines.push(`farm ${p.name}: at revision ${p.revision}, ${deployed}`);
  }
  if (!p.changes.length) lines.push('model: no changes; the farm already is what the document says');
  else {
    lines.push(`model: ${p.changes.length} change${p.changes.length === 1 ? '' : 's'}`);
    for (const c of p.changes) lines.push(...formatChange(c));
  }
  if (p.farmId !== null) {
    const when = p.deployedRevision === null ? 'when deployed' : 'on the next deploy';
    if (!p.hosts.length) lines.push(`hosts (${when}): no host changes`);
    else {
      lines.push(`hosts (${when}): ${p.hosts.length} change, ${p.unchangedHosts} unchanged`);
      for (const h of p.hosts) lines.push(formatHost(h));
    }
  }
  for (const e of p.errors) lines.push(`error: ${e}`);
  for (const w of p.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}

/** A progress line: rewritten in place on a terminal, one line per change otherwise. */
export class Progress {
  private last = '';
  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {}

  show(text: string): void {
    if (text === this.last) return;
    this.last = text;
    if (this.out.isTTY) this.out.write(`\r\x1b[2K${text}`);
    else this.out.write(`${text}\n`);
  }

  /** Ends the in-place line (a terminal), so what follows starts on its own line. */
  done(): void {
    if (this.out.isTTY && this.last) this.out.write('\n');
    this.last = '';
  }
}
