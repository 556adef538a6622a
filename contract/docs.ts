// Field tables of docs/agent-state.md, generated from the contract's schemas
// (`npm run docs:contract` writes them; contract/docs.test.ts fails when the
// page differs). Each table sits between two markers,
//   <!-- contract:vnets -->  …  <!-- /contract:vnets -->
// and everything outside the markers is prose written by hand. Types,
// defaults and "required" come from the schema (its JSON Schema, input
// side); a field's meaning, and type or default text the schema cannot say,
// from its metadata (contract/fields.ts `doc`).
import { z } from 'zod';
import { firewallInterfaceSchema, firewallRuleSchema, firewallSchema, conntrackSchema } from './firewall.ts';
import { guestSchema, hostStateSchema, relaySchema, underlaySchema, varpConfigSchema, vifLimitSchema, vifSchema, vlanSchema, vnetSchema } from './hostState.ts';
import { externalUplinkSchema, floatingIpSchema, natSchema, portForwardSchema } from './nat.ts';
import { routerInterfaceSchema, routerLinkSchema, routerSchema, staticRouteSchema } from './router.ts';
import { jsonSchemaOf, type JsonNode } from './inspect.ts';
import { dhcpRouteSchema, dnsRecordSchema, hostDnsSchema, vnetDhcpSchema } from './dhcp.ts';
import { securityGroupSchema, securityRuleSchema } from './securityGroups.ts';

/** The tables of docs/agent-state.md, by marker name. */
export const DOC_TABLES: Record<string, z.ZodType> = {
  state: hostStateSchema,
  underlay: underlaySchema,
  vnets: vnetSchema,
  vifs: vifSchema,
  guest: guestSchema,
  varp: varpConfigSchema,
  relay: relaySchema,
  vlan: vlanSchema,
  limit: vifLimitSchema,
  routers: routerSchema,
  'routers.interfaces': routerInterfaceSchema,
  'routers.staticRoutes': staticRouteSchema,
  'routers.links': routerLinkSchema,
  firewalls: firewallSchema,
  'firewalls.interfaces': firewallInterfaceSchema,
  'firewalls.rules': firewallRuleSchema,
  'firewalls.conntrack': conntrackSchema,
  'vnets.dhcp': vnetDhcpSchema,
  'vnets.dhcp.routes': dhcpRouteSchema,
  'vnets.dhcp.names': dnsRecordSchema,
  dns: hostDnsSchema,
  external: externalUplinkSchema,
  nat: natSchema,
  'nat.floatingIps': floatingIpSchema,
  'nat.portForwards': portForwardSchema,
  securityGroups: securityGroupSchema,
  'securityGroups.rules': securityRuleSchema,
};

type Json = JsonNode;

export interface DocRow {
  field: string;
  type: string;
  default: string;
  meaning: string;
}

/** A value as the docs write it: strings bare, everything else as JSON, in code. */
const code = (v: unknown) => `\`${typeof v === 'string' ? v : JSON.stringify(v)}\``;
/** zod's integers carry the safe-integer range: no bound worth printing. */
const bound = (n: number | undefined) => (n === undefined || Math.abs(n) >= Number.MAX_SAFE_INTEGER ? undefined : n);

function numberText(j: Json, kind: string): string {
  const min = bound(j.minimum);
  const max = bound(j.maximum);
  const gt = bound(j.exclusiveMinimum);
  if (min !== undefined && max !== undefined) return `${min}..${max}`;
  if (gt !== undefined) return `${kind} > ${gt}`;
  if (min !== undefined) return `${kind} ≥ ${min}`;
  return kind;
}

function typeText(j: Json): string {
  if (j.docType) return j.docType;
  if (j.const !== undefined) return code(j.const);
  if (j.enum) return j.enum.map(code).join(' | ');
  const alts = j.anyOf ?? j.oneOf;
  if (alts) {
    const nonNull = alts.filter((a) => a.type !== 'null');
    const text = nonNull.map(typeText).join(' or ');
    return nonNull.length < alts.length ? `${text} or \`null\`` : text;
  }
  const t = Array.isArray(j.type) ? j.type.filter((x) => x !== 'null') : j.type ? [j.type] : [];
  const nullable = Array.isArray(j.type) && j.type.includes('null');
  let text: string;
  switch (t[0]) {
    case 'integer':
    case 'number':
      text = numberText(j, t[0]);
      break;
    case 'string':
      text = j.minLength !== undefined || j.maxLength !== undefined ? `string, ${j.minLength ?? 0}..${j.maxLength ?? '∞'}` : 'string';
      break;
    case 'array':
      text = j.items && !j.items.properties && !j.items.oneOf ? `${typeText(j.items)}[]` : 'array';
      break;
    default:
      text = t[0] ?? 'any';
  }
  return nullable ? `${text} or \`null\`` : text;
}

function defaultText(name: string, j: Json, required: Set<string>): string {
  if (required.has(name)) return 'required';
  if (j.docDefault) return j.docDefault;
  if (j.default !== undefined) return code(j.default);
  return 'absent';
}

/** Properties of an object schema; a union of objects (the guest) lists every variant's, the discriminator once. */
function properties(j: Json): { props: [string, Json][]; required: Set<string> } {
  const variants = j.oneOf ?? j.anyOf;
  if (!variants) return { props: Object.entries(j.properties ?? {}), required: new Set(j.required ?? []) };
  const props = new Map<string, Json>();
  const required = new Set<string>();
  for (const v of variants) {
    const kind = Object.entries(v.properties ?? {}).find(([, p]) => p.const !== undefined);
    for (const [name, p] of Object.entries(v.properties ?? {})) {
      if (kind && name === kind[0]) {
        const seen = props.get(name);
        props.set(name, { ...seen, ...p, description: seen?.description ?? p.description, const: undefined, enum: [...(seen?.enum ?? []), p.const] });
        required.add(name);
      } else if (!props.has(name)) {
        props.set(name, { ...p, description: `${kind ? `(${kind[0]} \`${String(kind[1].const)}\`) ` : ''}${p.description ?? ''}`.trim() });
      }
    }
  }
  return { props: [...props], required };
}

export function docRows(schema: z.ZodType): DocRow[] {
  const json = jsonSchemaOf(schema);
  const { props, required } = properties(json);
  return props.map(([name, p]) => ({ field: name, type: typeText(p), default: defaultText(name, p, required), meaning: p.description ?? '' }));
}

const cell = (s: string) => s.replace(/(?<!\\)\|/g, '\\|');

export function renderTable(schema: z.ZodType): string {
  const lines = ['| field | type | default | meaning |', '|---|---|---|---|'];
  for (const r of docRows(schema)) lines.push(`| \`${r.field}\` | ${cell(r.type)} | ${cell(r.default)} | ${cell(r.meaning)} |`);
  return lines.join('\n');
}

const MARKER = /<!-- contract:([A-Za-z.]+) -->\n[\s\S]*?<!-- \/contract:\1 -->/g;

/** The page with every marked table regenerated; throws on a marker naming no table. */
export function renderDoc(page: string): string {
  return page.replace(MARKER, (_all, name: string) => {
    const schema = DOC_TABLES[name];
    if (!schema) throw new Error(`docs: <!-- contract:${name} --> names no table (known: ${Object.keys(DOC_TABLES).join(', ')})`);
    return `<!-- contract:${name} -->\n${renderTable(schema)}\n<!-- /contract:${name} -->`;
  });
}

/** Tables of DOC_TABLES that the page has no markers for. */
export function missingTables(page: string): string[] {
  return Object.keys(DOC_TABLES).filter((name) => !page.includes(`<!-- contract:${name} -->`));
}
