// The agent's desired state: parsing and errors. The schema is the contract's
// (contract/hostState.ts, documented field by field in docs/agent-state.md):
// the same document a state file holds in standalone mode and the console
// compiles per host. Unknown fields are kept so a newer console can add
// sections without breaking an older agent; every error names the field path.
import { readFile } from 'node:fs/promises';
import { agentStateSchema, varpKeyEncoding, type AgentState } from '../contract/hostState.ts';

export type {
  AgentState, AgentStateInput, GuestSpec, RelaySpec, UnderlaySpec, VarpConfigSpec, VifLimitSpec, VifSpec, VlanSpec, VnetSpec,
} from '../contract/hostState.ts';

/** The VARP key's bytes, read as the contract says (hex or base64). Undefined when it is neither. */
export function decodeVarpKey(text: string): Buffer | undefined {
  const encoding = varpKeyEncoding(text);
  return encoding ? Buffer.from(text, encoding) : undefined;
}

export interface StateIssue {
  /** Dotted path with indices, e.g. `vifs[0].mac`. */
  field: string;
  message: string;
}

export class StateError extends Error {
  readonly code = 'BAD_STATE';
  constructor(readonly issues: StateIssue[]) {
    super(issues.map((i) => `${i.field || '(root)'}: ${i.message}`).join('; '));
    this.name = 'StateError';
  }
  /** The first offending field, for callers that report one. */
  get field(): string {
    return this.issues[0]?.field ?? '';
  }
}

export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/** Validates a desired state (parsed JSON); throws StateError naming every bad field. */
export function parseState(input: unknown): AgentState {
  const r = agentStateSchema.safeParse(input);
  if (r.success) return r.data;
  throw new StateError(r.error.issues.map((i) => ({ field: fieldPath(i.path), message: i.message })));
}

/** Reads and validates a state file; JSON syntax errors are StateErrors too. */
export async function loadStateFile(path: string): Promise<AgentState> {
  const text = await readFile(path, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new StateError([{ field: '', message: `${path} is not valid JSON: ${(err as Error).message}` }]);
  }
  return parseState(json);
}
