// The table of every environment variable in docs/operations.md, between
// `<!-- config:variables -->` markers, rendered from config/variables.ts.
import { VARIABLES, type Scope } from './variables.ts';

const READ_BY: Record<Scope, string> = { console: 'console', agent: 'agent', both: 'console, agent', tests: 'tests' };
const START = '<!-- config:variables -->';
const END = '<!-- /config:variables -->';

export function renderConfigTable(): string {
  const rows = Object.entries(VARIABLES).map(([name, v]) => `| \`${name}\` | ${READ_BY[v.scope]} | ${v.meaning} | ${v.default} |`);
  return ['| variable | read by | meaning | default |', '|---|---|---|---|', ...rows].join('\n');
}

/** The page with its table regenerated; throws when the page has no markers. */
export function renderConfigDoc(page: string): string {
  const a = page.indexOf(START);
  const b = page.indexOf(END);
  if (a < 0 || b < a) throw new Error(`the page has no ${START}…${END} markers`);
  return `${page.slice(0, a + START.length)}\n${renderConfigTable()}\n${page.slice(b)}`;
}
