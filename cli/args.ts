// The command line: positional words and `--flag[=value]` / `--flag value`
// options. Each command says which options it takes; anything else is a
// usage error (exit 2), never silently ignored.
import { CliError, EXIT } from './errors.ts';

export interface Args {
  words: string[];
  options: Map<string, string | true>;
}

/** Options that take a value after a space too (`--url http://…`); the others are switches or take `=value`. */
const VALUED = new Set(['tcp', 'udp', 'url', 'user', 'password', 'timeout', 'expected-revision', 'name', 'output', 'expires-days']);

export function parseArgs(argv: string[]): Args {
  const words: string[] = [];
  const options = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      words.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const key = eq < 0 ? a.slice(2) : a.slice(2, eq);
      if (eq >= 0) options.set(key, a.slice(eq + 1));
      else if (VALUED.has(key)) {
        const v = argv[++i];
        if (v === undefined) throw new CliError(EXIT.usage, `--${key} needs a value`);
        options.set(key, v);
      } else options.set(key, true);
    } else if (a === '-h') options.set('help', true);
    else words.push(a);
  }
  return { words, options };
}

/** Refuses options the command does not take. */
export function allowOnly(args: Args, allowed: string[]): void {
  for (const k of args.options.keys()) {
    if (!allowed.includes(k) && k !== 'help') throw new CliError(EXIT.usage, `unknown option --${k} (this command takes ${allowed.map((a) => `--${a}`).join(', ') || 'none'})`);
  }
}

export function stringOption(args: Args, key: string): string | undefined {
  const v = args.options.get(key);
  if (v === true) throw new CliError(EXIT.usage, `--${key} needs a value (--${key}=…)`);
  return v;
}

/** A duration: `90`, `90s`, `2m`, `500ms`; in milliseconds. */
export function parseDuration(text: string, key: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new CliError(EXIT.usage, `--${key}: expected a duration like 60, 60s, 2m or 500ms (got "${text}")`);
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  if (ms <= 0 || ms > 600_000) throw new CliError(EXIT.usage, `--${key}: must be more than 0 and at most 10 minutes (got "${text}")`);
  return ms;
}

export function intOption(args: Args, key: string): number | undefined {
  const v = stringOption(args, key);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new CliError(EXIT.usage, `--${key}: expected a whole number (got "${v}")`);
  return Number(v);
}
