// The VLAN interfaces of the vnets this host carries (docs/agent-state.md
// "vnets[].vlan"): brought up, changed and removed with the state. A VLAN
// that cannot be bridged (no such interface, no privileges) is an error on
// that vnet's `vlan` field; the vnet itself keeps working without it.
import type { Uplink } from '../switch/index.ts';
import { VlanUplink, type VlanContext, type VlanSpec } from './uplink.ts';
import { ExternalUplink, SharedSubs } from './external.ts';
import type { ExternalUplinkSpec } from '../../contract/nat.ts';

export interface VlanManagerContext extends VlanContext {
  /** A frame from the LAN of `vnet`'s VLAN. */
  fromLan(vnet: number, frame: Buffer): void;
}

export class VlanManager {
  private readonly uplinks = new Map<number, VlanUplink>();
  private readonly externals = new Map<number, ExternalUplink>();
  private readonly subs = new SharedSubs();

  constructor(private readonly ctx: VlanManagerContext) {}

  /** Brings the vnet's external leg (`vnets[].external`) to `spec`; the uplink for the switch, or null and why not. */
  async syncExternal(vnet: number, spec: ExternalUplinkSpec | undefined): Promise<{ uplink: Uplink | null; error?: string }> {
    const cur = this.externals.get(vnet);
    if (cur && spec && JSON.stringify(cur.spec) === JSON.stringify(spec)) return { uplink: cur };
    if (cur) {
      this.externals.delete(vnet);
      await cur.stop();
    }
    if (!spec) return { uplink: null };
    const u = new ExternalUplink(vnet, spec, { logger: this.ctx.logger, counters: this.ctx.counters, subs: this.subs, ...(this.ctx.headroom ? { headroom: this.ctx.headroom } : {}) });
    u.onFrame = (f) => this.ctx.fromLan(vnet, f);
    try {
      await u.start();
    } catch (err) {
      this.ctx.counters.inc('softudc_external_errors_total');
      this.ctx.logger.error('external leg not brought up', { vnet, interface: spec.interface, vid: spec.vid, error: (err as Error).message });
      return { uplink: null, error: (err as Error).message };
    }
    this.externals.set(vnet, u);
    return { uplink: u };
  }

  /** Whether the vnet is an external leg here. */
  isExternal(vnet: number): boolean {
    return this.externals.has(vnet);
  }

  /** Brings the vnet's VLAN interface to `spec`; the uplink for the switch, or null and why not. */
  async sync(vnet: number, spec: VlanSpec | undefined): Promise<{ uplink: Uplink | null; error?: string }> {
    const cur = this.uplinks.get(vnet);
    if (cur && spec && cur.spec.interface === spec.interface && cur.spec.vid === spec.vid) return { uplink: cur };
    if (cur) {
      this.uplinks.delete(vnet);
      await cur.stop();
    }
    if (!spec) return { uplink: null };
    const u = new VlanUplink(vnet, { interface: spec.interface, vid: spec.vid }, this.ctx);
    u.onFrame = (f) => this.ctx.fromLan(vnet, f);
    try {
      await u.start();
    } catch (err) {
      this.ctx.counters.inc('softudc_vlan_errors_total');
      this.ctx.logger.error('VLAN interface not brought up', { vnet, interface: spec.interface, vid: spec.vid, error: (err as Error).message });
      return { uplink: null, error: (err as Error).message };
    }
    this.uplinks.set(vnet, u);
    return { uplink: u };
  }

  /** Removes the VLAN interfaces of vnets no longer carried. */
  async retain(ids: ReadonlySet<number>): Promise<void> {
    for (const [vnet, u] of [...this.uplinks]) {
      if (ids.has(vnet)) continue;
      this.uplinks.delete(vnet);
      await u.stop();
    }
    for (const [vnet, u] of [...this.externals]) {
      if (ids.has(vnet)) continue;
      this.externals.delete(vnet);
      await u.stop();
    }
  }

  async stopAll(): Promise<void> {
    await this.retain(new Set());
  }

  /** After the VARP engine was rebuilt: every learnt LAN MAC is attached again. */
  announceAll(): void {
    for (const u of this.uplinks.values()) u.announceAll();
  }

  get(vnet: number): VlanUplink | undefined {
    return this.uplinks.get(vnet);
  }
}
