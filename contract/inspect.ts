// Looking at the contract's schemas from the outside, through their JSON
// Schema (input side): which objects are open or closed, and which fields of
// a value a schema does not list. The docs generator and the tests use it.
import { z } from 'zod';

export interface JsonNode {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonNode[];
  oneOf?: JsonNode[];
  items?: JsonNode;
  prefixItems?: JsonNode[];
  properties?: Record<string, JsonNode>;
  additionalProperties?: JsonNode | boolean;
  required?: string[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  maxLength?: number;
  description?: string;
  docType?: string;
  docDefault?: string;
}

export function jsonSchemaOf(schema: z.ZodType): JsonNode {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonNode;
}

export type ObjectPolicy = 'open' | 'closed' | 'strips';

/** Every object with listed fields in a schema, by path, and what it does with fields it does not list. */
export function objectPolicies(node: JsonNode, path = ''): { path: string; policy: ObjectPolicy }[] {
  const out: { path: string; policy: ObjectPolicy }[] = [];
  if (node.properties) {
    const a = node.additionalProperties;
    out.push({ path: path || '(root)', policy: a === false ? 'closed' : a === undefined ? 'strips' : 'open' });
    for (const [k, p] of Object.entries(node.properties)) out.push(...objectPolicies(p, path ? `${path}.${k}` : k));
  }
  for (const alt of [...(node.anyOf ?? []), ...(node.oneOf ?? [])]) out.push(...objectPolicies(alt, path));
  if (node.items) out.push(...objectPolicies(node.items, `${path}[]`));
  return out;
}

/** The variant of a union a value belongs to: the one whose discriminator (a const) it carries. */
function variantOf(alts: JsonNode[], value: unknown): JsonNode | undefined {
  if (value === null) return alts.find((a) => a.type === 'null');
  const objects = alts.filter((a) => a.properties);
  if (objects.length <= 1) return objects[0] ?? alts.find((a) => a.type !== 'null');
  const v = value as Record<string, unknown>;
  return objects.find((a) => Object.entries(a.properties!).some(([k, p]) => p.const !== undefined && v[k] === p.const));
}

/** Paths of the fields of `value` that `schema` does not list (what a closed schema would refuse). */
export function unlistedFields(schema: z.ZodType | JsonNode, value: unknown, path = ''): string[] {
  const node = schema instanceof z.ZodType ? jsonSchemaOf(schema) : schema;
  const alts = node.anyOf ?? node.oneOf;
  if (alts) {
    const v = variantOf(alts, value);
    return v ? unlistedFields(v, value, path) : [];
  }
  if (Array.isArray(value)) return node.items ? value.flatMap((x, i) => unlistedFields(node.items!, x, `${path}[${i}]`)) : [];
  if (!value || typeof value !== 'object' || !node.properties) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    const p = node.properties[k];
    const at = path ? `${path}.${k}` : k;
    if (!p) out.push(at);
    else out.push(...unlistedFields(p, v, at));
  }
  return out;
}
