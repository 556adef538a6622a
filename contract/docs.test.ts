// docs/agent-state.md's field tables are generated from the contract
// (`npm run docs:contract`): the page must be exactly what the generator
// writes, so a schema change without a docs change fails here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DOC_TABLES, docRows, missingTables, renderDoc } from './docs.ts';
import { MINIMAL_STATE } from './testing.ts';

const PAGE = new URL('../docs/agent-state.md', import.meta.url);

describe('docs/agent-state.md', () => {
  const page = readFileSync(PAGE, 'utf8');

  it('has every field table, as the contract generates it (run `npm run docs:contract` after changing contract/)', () => {
    expect(missingTables(page)).toEqual([]);
    expect(renderDoc(page)).toBe(page);
  });

  it('shows the minimal state the contract always accepts', () => {
    const block = /## The minimal shape[\s\S]*?```json\n([\s\S]*?)```/.exec(page);
    expect(JSON.parse(block![1]!)).toEqual(MINIMAL_STATE);
  });

  it('says what every field means', () => {
    const silent = Object.entries(DOC_TABLES).flatMap(([name, schema]) =>
      docRows(schema).filter((r) => r.meaning.trim() === '').map((r) => `${name}.${r.field}`),
    );
    expect(silent).toEqual([]);
  });

  it('the generator notices a change: a table edited by hand is rewritten, a marker naming no table is an error', () => {
    const edited = page.replace('| `host` | string, non-empty | required |', '| `host` | string | required |');
    expect(edited).not.toBe(page);
    expect(renderDoc(edited)).toBe(page);
    expect(() => renderDoc('<!-- contract:nothing -->\n<!-- /contract:nothing -->')).toThrow(/names no table/);
  });
});
