// Names and address ranges the designer proposes for new objects, so a node
// dropped from the palette is valid at once and can be renamed afterwards.
import type { FarmNodeKind } from './elements.ts';

const PREFIX: Record<FarmNodeKind, string> = { vm: 'vm', vnet: 'vnet', router: 'router', firewall: 'fw' };

/** The lowest `<prefix>-<n>` (n ≥ 1) not in `taken`. */
export function nextName(kind: FarmNodeKind, taken: Iterable<string>): string {
  return lowestFree(PREFIX[kind] + '-', taken, 1);
}

/** The lowest `eth<n>` (n ≥ 0) not in `taken`: firewall interface names. */
export function nextInterfaceName(taken: Iterable<string>): string {
  return lowestFree('eth', taken, 0);
}

function lowestFree(prefix: string, taken: Iterable<string>, start: number): string {
  const used = new Set(taken);
  for (let n = start; ; n++) if (!used.has(prefix + n)) return prefix + n;
}

/**
 * A /24 in 10.0.0.0/8 that overlaps none of `cidrs` (router interfaces on a
 * farm's vnets must not have overlapping prefixes), or null when all are taken.
 */
export function suggestCidr(cidrs: Iterable<string>): string | null {
  const ranges = [...cidrs].flatMap((c) => {
    const r = parseCidr(c);
    return r ? [r] : [];
  });
  for (let second = 1; second < 256; second++) {
    const start = ((10 << 24) | (second << 16)) >>> 0;
    const end = start + 255;
    if (ranges.every((r) => end < r.start || start > r.end)) return `10.${second}.0.0/24`;
  }
  return null;
}

function parseCidr(text: string): { start: number; end: number } | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text.trim());
  if (!m) return null;
  const octets = m.slice(1, 5).map(Number);
  const len = Number(m[5]);
  if (octets.some((o) => o > 255) || len > 32) return null;
  const ip = octets.reduce((acc, o) => ((acc << 8) | o) >>> 0, 0);
  const size = 2 ** (32 - len);
  const start = Math.floor(ip / size) * size;
  return { start, end: start + size - 1 };
}
