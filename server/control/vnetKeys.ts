// Sealing keys of auth/conf vnets (wire.md "SEALED frames") and the
// deployment's VARP key (wire.md "VARP", AUTH). The console generates them,
// stores them in VnetKey / DeploymentSecret and writes them only into desired
// states: a vnet's keys into the states of the hosts that carry it. No API
// query selects them, no audit entry or log line carries them; audit entries
// name key ids only.
//
// Rotation without loss is three recomputes (docs/agent-state.md "Rotation"):
// a new key is added (every carrier accepts it), then made the send key once
// every carrier applied that (or after a grace period), then the older keys
// are retired once every carrier applied the switch (or after the grace
// period). State lives in the rows (activatedAt, retiredAt), so any console
// process can take the next step; the control-loop lock serializes them.
import { randomBytes } from 'node:crypto';
import type { Prisma } from '../db/generated/client.ts';
import type { Db } from '../db/index.ts';
import type { VnetKeyring } from '../compile/index.ts';
import { SEAL_KEY_BYTES, SEAL_SALT_BYTES, VARP_KEY_MIN_BYTES } from '../../contract/limits.ts';
import { UINT32_MAX } from '../../contract/primitives.ts';
import { consoleConfig } from '../../config/index.ts';

type Tx = Prisma.TransactionClient;
type Q = Tx | Db;

/** HMAC-SHA-256 key for VARP: twice what agents require at least. */
export const VARP_KEY_BYTES = 2 * VARP_KEY_MIN_BYTES;
export const VARP_SECRET = 'varp';

export interface LiveKey {
  keyId: number;
  createdAt: Date;
  activatedAt: Date | null;
}

export type RotationPhase = 'steady' | 'adding' | 'retiring';

/** Where a vnet's rotation stands, from its unretired keys. */
export function rotationPhase(keys: LiveKey[]): { phase: RotationPhase; active: LiveKey | null; pending: LiveKey[]; old: LiveKey[] } {
  const activated = keys.filter((k) => k.activatedAt).sort((a, b) => a.activatedAt!.getTime() - b.activatedAt!.getTime() || a.keyId - b.keyId);
  const active = activated.at(-1) ?? null;
  const pending = keys.filter((k) => !k.activatedAt);
  const old = activated.filter((k) => k !== active);
  return { phase: pending.length ? 'adding' : old.length ? 'retiring' : 'steady', active, pending, old };
}

/** Next key id of a vnet: above every id it ever used (retired ones included), wrapping past u32 to 1. */
async function nextKeyId(tx: Tx, vnetId: string): Promise<number> {
  const top = await tx.vnetKey.findFirst({ where: { vnetId }, orderBy: { keyId: 'desc' }, select: { keyId: true } });
  const next = top ? Number(top.keyId) + 1 : 1;
  return next > UINT32_MAX ? 1 : next;
}

/** Adds a fresh key to a vnet; `activate` makes it the send key at once (a vnet that had none). */
export async function addVnetKey(tx: Tx, vnetId: string, activate: boolean, now: Date): Promise<number> {
  const keyId = await nextKeyId(tx, vnetId);
  await tx.vnetKey.create({
    data: {
      vnetId, keyId: BigInt(keyId), key: randomBytes(SEAL_KEY_BYTES), salt: randomBytes(SEAL_SALT_BYTES),
      createdAt: now, activatedAt: activate ? now : null,
    },
    select: { id: true },
  });
  return keyId;
}

/** Retired keys leave the hosts; their material is wiped, the row stays as history. */
export function retireWhere(where: Prisma.VnetKeyWhereInput, now: Date) {
  return { where: { ...where, retiredAt: null }, data: { retiredAt: now, key: new Uint8Array(0) } };
}

/**
 * Brings keys in line with what is deployed: every deployed auth/conf vnet
 * has a send key (generated here on first deploy or when its security was
 * raised), and vnets no longer deployed sealed lose theirs, so a key is never
 * used again after a pause (its sequence numbers would restart). With
 * `farmId`, `sealedVnids` are that farm's and only its vnets are looked at.
 */
export async function syncVnetKeys(tx: Tx, sealedVnids: number[], now = new Date(), farmId?: string): Promise<void> {
  const vnids = sealedVnids.map((v) => BigInt(v));
  await tx.vnetKey.updateMany(retireWhere({ vnet: { vnid: { notIn: vnids }, ...(farmId === undefined ? {} : { farmId }) } }, now));
  if (!vnids.length) return;
  const vnets = await tx.vnet.findMany({
    where: { vnid: { in: vnids } },
    select: { id: true, keys: { where: { retiredAt: null, activatedAt: { not: null } }, select: { keyId: true } } },
    orderBy: { vnid: 'asc' },
  });
  for (const v of vnets) if (!v.keys.length) await addVnetKey(tx, v.id, true, now);
}

/** The keyrings of the given vnets, as compile wants them (base64). Internal to the control loop. */
export async function loadKeyrings(q: Q, vnids: number[]): Promise<Map<number, VnetKeyring>> {
  const out = new Map<number, VnetKeyring>();
  if (!vnids.length) return out;
  const rows = await q.vnet.findMany({
    where: { vnid: { in: vnids.map((v) => BigInt(v)) } },
    select: {
      vnid: true,
      keys: { where: { retiredAt: null }, select: { keyId: true, key: true, salt: true, createdAt: true, activatedAt: true } },
    },
  });
  for (const r of rows) {
    const live = r.keys.map((k) => ({ ...k, keyId: Number(k.keyId) }));
    const { active } = rotationPhase(live);
    if (!active) continue; // nothing to send with yet
    out.set(Number(r.vnid), {
      keys: live
        .map((k) => ({ id: k.keyId, key: Buffer.from(k.key).toString('base64'), salt: Buffer.from(k.salt).toString('base64') }))
        .sort((a, b) => a.id - b.id),
      sendKeyId: active.keyId,
    });
  }
  return out;
}

/** The VARP key (base64), created once per deployment when `create` is set. */
export async function varpKey(q: Q, create: boolean): Promise<string | undefined> {
  const row = await q.deploymentSecret.findUnique({ where: { name: VARP_SECRET }, select: { value: true } });
  if (row) return Buffer.from(row.value).toString('base64');
  if (!create) return undefined;
  const value = randomBytes(VARP_KEY_BYTES);
  // Two console processes may race here: the loser keeps the winner's key.
  await q.deploymentSecret.createMany({ data: [{ name: VARP_SECRET, value }], skipDuplicates: true });
  return varpKey(q, false);
}

/** A new VARP key; the caller recomputes the desired states in the same transaction. */
export async function replaceVarpKey(tx: Tx): Promise<void> {
  const value = randomBytes(VARP_KEY_BYTES);
  await tx.deploymentSecret.upsert({
    where: { name: VARP_SECRET },
    create: { name: VARP_SECRET, value },
    update: { value },
    select: { name: true },
  });
}

/** Every host running something gets the deployment's VARP key (spec AUTH), unless SOFTUDC_VARP_AUTH=0. */
export function varpAuthEnabled(env: Record<string, string | undefined> = process.env): boolean {
  return consoleConfig(env).SOFTUDC_VARP_AUTH;
}


/**
 * The deploy's key step, before it compiles: every sealed vnet of what is
 * about to run (of every farm, or of farm `farmId` alone) gets a send key, vnets no longer deployed sealed lose theirs,
 * and the deployment gets its VARP key the first time it needs one. A plan
 * never takes this step: it shows what it can without creating a key.
 */
export async function provisionKeys(tx: Tx, sealedVnids: number[], farmId?: string): Promise<void> {
  await syncVnetKeys(tx, sealedVnids, new Date(), farmId);
  if (varpAuthEnabled()) await varpKey(tx, true);
}
