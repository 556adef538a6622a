// Key rotation: on demand (`vnet.rotateKey`, `deployment.rotateVarpKey`) and
// on a schedule (SOFTUDC_KEY_ROTATION_HOURS). A vnet's rotation is three
// recomputes of the desired states (vnetKeys.ts); the timer in every console
// process takes the next step when every host carrying the vnet applied the
// previous one, or after SOFTUDC_KEY_ROTATION_GRACE_S. Steps are derived from
// the key rows under the control-loop lock, so several console processes
// never take a step twice.
import { consoleLogger } from '../../log/index.ts';
import { consoleConfig } from '../../config/index.ts';
import type { Db } from '../db/index.ts';
import { badRequest, conflict, notFound } from '../errors.ts';
import type { UserActor } from '../auth/actors.ts';
import { writeAudit } from '../audit/audit.ts';
import { CONTROL_TX, lockControlLoop, recomputeDesired } from './desiredState.ts';
import { addVnetKey, replaceVarpKey, retireWhere, rotationPhase, type LiveKey } from './vnetKeys.ts';
import type { Prisma } from '../db/generated/client.ts';

type Tx = Prisma.TransactionClient;

export interface RotationSettings {
  /** Scheduled rotation period; 0 turns the schedule off. */
  rotateEveryMs: number;
  /** Longest wait for carriers to apply a step before taking the next one anyway. */
  graceMs: number;
}

/** How often the timer looks for a step to take. */
export const ROTATION_TICK_MS = 5_000;

type Env = Record<string, string | undefined>;

/** SOFTUDC_KEY_ROTATION_HOURS and SOFTUDC_KEY_ROTATION_GRACE_S (defaults in config/variables.ts). */
export function rotationSettings(env: Env = process.env): RotationSettings {
  const c = consoleConfig(env);
  return { rotateEveryMs: c.SOFTUDC_KEY_ROTATION_HOURS * 3_600_000, graceMs: c.SOFTUDC_KEY_ROTATION_GRACE_S * 1000 };
}

const liveKeySelect = { where: { retiredAt: null }, select: { keyId: true, createdAt: true, activatedAt: true } } as const;
const toLive = (keys: { keyId: bigint; createdAt: Date; activatedAt: Date | null }[]): LiveKey[] =>
  keys.map((k) => ({ ...k, keyId: Number(k.keyId) }));

export interface RotateKeyResult {
  id: string;
  vnid: number;
  keyId: number;
  phase: 'adding';
}

/** Starts a rotation: step 1, the new key goes to every carrier (still sending with the old one). */
export async function rotateVnetKey(o: { db: Db; actor: UserActor; id: string }): Promise<RotateKeyResult> {
  return o.db.$transaction(async (tx) => {
    const vnet = await tx.vnet.findFirst({
      where: { id: o.id, farm: { tenantId: o.actor.tenantId } },
      select: { id: true, farmId: true, vnid: true, name: true, keys: liveKeySelect },
    });
    if (!vnet) throw notFound('vnet', 'id');
    await lockControlLoop(tx);
    const keys = toLive((await tx.vnetKey.findMany({ where: { vnetId: vnet.id, retiredAt: null }, select: liveKeySelect.select })));
    const r = rotationPhase(keys);
    if (!r.active) {
      throw badRequest('id', `vnet ${vnet.name} has no key to rotate: it is not deployed with security auth or conf`);
    }
    if (r.phase !== 'steady') {
      throw conflict('id', `a key rotation of vnet ${vnet.name} is in progress (${r.phase === 'adding' ? 'adding the new key' : 'retiring the old key'}); wait for it to finish`);
    }
    const keyId = await addVnetKey(tx, vnet.id, false, new Date());
    // Only the vnet's carriers get the key: the hosts its farm reaches and their relays.
    await recomputeDesired(tx, { farmId: vnet.farmId });
    const vnid = Number(vnet.vnid);
    // Key ids are on the wire anyway; key material never enters the audit trail.
    await writeAudit(tx, { actor: o.actor, action: 'vnet.rotateKey', entity: 'vnet', entityId: vnet.id, after: { vnid, keyId, phase: 'adding' } });
    return { id: vnet.id, vnid, keyId, phase: 'adding' as const };
  }, CONTROL_TX);
}

/** A new VARP key for every host. Hosts hold one VARP key, so resolutions fail until all applied it. */
export async function rotateVarpKey(o: { db: Db; actor: UserActor }): Promise<{ rotatedAt: Date; hosts: number }> {
  return o.db.$transaction(async (tx) => {
    await lockControlLoop(tx);
    await replaceVarpKey(tx);
    const { changed } = await recomputeDesired(tx);
    await writeAudit(tx, { actor: o.actor, tenantId: null, action: 'deployment.rotateVarpKey', entity: 'deployment', after: { hosts: changed.length } });
    return { rotatedAt: new Date(), hosts: changed.length };
  }, CONTROL_TX);
}

/** Vnet ids whose every carrier applied its current desired state. */
async function settledVnids(tx: Tx, vnids: Set<number>): Promise<Set<number>> {
  const rows = await tx.hostDesiredState.findMany({ select: { generation: true, state: true, host: { select: { appliedGeneration: true } } } });
  const unsettled = new Set<number>();
  for (const r of rows) {
    if (r.host.appliedGeneration >= r.generation) continue;
    const vnets = (r.state as { vnets?: { id?: unknown }[] }).vnets ?? [];
    for (const v of vnets) if (typeof v.id === 'number' && vnids.has(v.id)) unsettled.add(v.id);
  }
  return new Set([...vnids].filter((v) => !unsettled.has(v)));
}

export interface RotationSteps {
  started: number[];
  activated: number[];
  retired: number[];
}

/** Takes every rotation step that is due; one transaction, then the hosts that changed hear of it. */
export async function advanceKeyRotations(o: { db: Db; settings: RotationSettings; now?: Date }): Promise<RotationSteps> {
  const now = o.now ?? new Date();
  const steps: RotationSteps = { started: [], activated: [], retired: [] };
  const age = (d: Date | null | undefined) => (d ? now.getTime() - d.getTime() : 0);
  const due = (keys: LiveKey[]) => {
    const r = rotationPhase(keys);
    if (!r.active) return false;
    return r.phase !== 'steady' || (o.settings.rotateEveryMs > 0 && age(r.active.activatedAt) >= o.settings.rotateEveryMs);
  };
  // A cheap look first: most ticks find nothing to do and never take the lock.
  const first = await o.db.vnet.findMany({ where: { keys: { some: { retiredAt: null } } }, select: { keys: liveKeySelect } });
  if (!first.some((v) => due(toLive(v.keys)))) return steps;

  return o.db.$transaction(async (tx) => {
    await lockControlLoop(tx);
    const vnets = await tx.vnet.findMany({
      where: { keys: { some: { retiredAt: null } } },
      select: { id: true, vnid: true, keys: liveKeySelect },
      orderBy: { vnid: 'asc' },
    });
    const moving = new Set(vnets.filter((v) => rotationPhase(toLive(v.keys)).phase !== 'steady').map((v) => Number(v.vnid)));
    const settled = moving.size ? await settledVnids(tx, moving) : new Set<number>();
    for (const v of vnets) {
      const vnid = Number(v.vnid);
      const r = rotationPhase(toLive(v.keys));
      if (!r.active) continue;
      if (r.phase === 'adding') {
        const newest = r.pending.at(-1)!;
        if (!settled.has(vnid) && age(newest.createdAt) < o.settings.graceMs) continue;
        await tx.vnetKey.updateMany({ where: { vnetId: v.id, keyId: BigInt(newest.keyId) }, data: { activatedAt: now } });
        steps.activated.push(vnid);
      } else if (r.phase === 'retiring') {
        if (!settled.has(vnid) && age(r.active.activatedAt) < o.settings.graceMs) continue;
        await tx.vnetKey.updateMany(retireWhere({ vnetId: v.id, keyId: { in: r.old.map((k) => BigInt(k.keyId)) } }, now));
        steps.retired.push(vnid);
      } else if (o.settings.rotateEveryMs > 0 && age(r.active.activatedAt) >= o.settings.rotateEveryMs) {
        await addVnetKey(tx, v.id, false, now);
        steps.started.push(vnid);
      }
    }
    if (steps.started.length + steps.activated.length + steps.retired.length > 0) {
      await recomputeDesired(tx);
      await writeAudit(tx, { actor: 'system', action: 'vnet.keyRotationStep', entity: 'vnet', after: { ...steps } });
    }
    return steps;
  }, CONTROL_TX);
}

/** Runs the rotation steps every tick; timer unref'ed, errors swallowed (the next tick retries). */
export class KeyRotationTimer {
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    private readonly db: Db,
    private readonly settings: RotationSettings,
    private readonly tickMs = ROTATION_TICK_MS,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await advanceKeyRotations({ db: this.db, settings: this.settings });
    } catch {
      // Database unavailable or closing, or a step refused by compile: the next tick retries.
    } finally {
      this.running = false;
    }
  }
}

const TIMERS_KEY = Symbol.for('softudc.keyRotation');

function timers(): Map<Db, KeyRotationTimer> {
  const g = globalThis as typeof globalThis & { [TIMERS_KEY]?: Map<Db, KeyRotationTimer> };
  return (g[TIMERS_KEY] ??= new Map());
}

/**
 * Starts (once per database per process) the rotation timer, settings from
 * the environment; a bad setting is reported once and the default used, so
 * a typo never takes the API down.
 */
export function ensureKeyRotation(db: Db, settings?: RotationSettings): void {
  const all = timers();
  if (all.has(db)) return;
  let s = settings;
  if (!s) {
    try {
      s = rotationSettings();
    } catch (err) {
      consoleLogger().error('bad key rotation setting, using the defaults', { error: (err as Error).message });
      s = rotationSettings({});
    }
  }
  const t = new KeyRotationTimer(db, s);
  all.set(db, t);
  t.start();
}

export function stopKeyRotation(db: Db): void {
  timers().get(db)?.stop();
  timers().delete(db);
}
