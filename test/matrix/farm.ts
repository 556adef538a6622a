// A farm of the feature matrix, built through the API one edit at a time
// (each edit passes the revision the previous one answered), deployed with
// farm.deploy (wait), and its TAP VMs given kernels in guest namespaces.
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '../../server/routers/_app.ts';
import { waitFor } from '../managed-agent.ts';
import { GUEST_IFNAME } from '../netns/hypervisor-client.ts';
import type { Api, HostName, MatrixWorld } from './world.ts';

type Out = inferRouterOutputs<AppRouter>;
export type VnetView = Out['vnet']['create']['vnet'];
export type VmView = Out['vm']['create']['vm'];
export type DeployResult = Out['farm']['deploy'];
type VnetDhcpInput = inferRouterInputs<AppRouter>['vnet']['create']['dhcp'];

/** A VM's kernel: its namespace, where it runs, the address and MAC the console gave its VIF. */
export interface Guest {
  name: string;
  id: string;
  ns: string;
  host: HostName;
  ip: string;
  mac: string;
  vnetId: string;
  /** The agent's TAP the hypervisor attached it to. */
  tap: string;
}

export class MatrixFarm {
  private readonly vnets = new Map<string, VnetView>();

  private constructor(
    readonly w: MatrixWorld,
    readonly id: string,
    readonly name: string,
    public rev: number,
  ) {}

  static async create(w: MatrixWorld, name: string): Promise<MatrixFarm> {
    // Mode none: each row proves its feature unfiltered; a row about security groups puts VIFs in groups itself.
    const f = await w.api.farm.create.mutate({ name, description: 'feature matrix', securityGroupMode: 'none' });
    return new MatrixFarm(w, f.id, name, f.revision);
  }

  get api(): Api {
    return this.w.api;
  }

  /** Runs one farm edit with the current revision and keeps the revision it answers. */
  async edit<T extends { farmRevision: number }>(call: (expectedRevision: number) => Promise<T>): Promise<T> {
    const r = await call(this.rev);
    this.rev = r.farmRevision;
    return r;
  }

  async vnet(name: string, cidr: string, extra: { security?: 'none' | 'auth' | 'conf'; mtu?: number; dhcp?: VnetDhcpInput } = {}): Promise<VnetView> {
    const { vnet } = await this.edit((rev) => this.api.vnet.create.mutate({ farmId: this.id, expectedRevision: rev, name, cidr, ...extra }));
    this.vnets.set(vnet.id, vnet);
    return vnet;
  }

  /** A VM with one VIF on `vnet`, placed on `host`: a TAP guest unless `guestKind` says otherwise. */
  async vm(name: string, host: HostName, vnet: VnetView, ip?: string, extra: { bandwidthMbps?: number; guestKind?: 'tap' | 'emulated' } = {}): Promise<VmView> {
    const { vm } = await this.edit((rev) =>
      this.api.vm.create.mutate({
        farmId: this.id, expectedRevision: rev, name, hostId: this.w.hosts[host].id, guestKind: 'tap', vifs: [{ vnetId: vnet.id, ...(ip ? { ip } : {}) }], ...extra,
      }),
    );
    return vm;
  }

  /** farm.deploy with wait; fails naming the hosts that did not apply and their errors. */
  async deploy(): Promise<DeployResult> {
    const r = await this.api.farm.deploy.mutate({ id: this.id, expectedRevision: this.rev, wait: true, timeoutMs: 30_000 });
    if (r.timedOut) {
      const errors = r.progress.hosts.filter((x) => x.error).map((x) => `${x.host}: ${x.error}`);
      throw new Error(`deploy of ${this.name} timed out; missing ${r.missing.join(', ')}; ${errors.join('; ')}\n${this.w.agentLogs()}`);
    }
    return r;
  }

  /**
   * Gives a deployed VM its kernel: a guest namespace whose eth0 the host's
   * hypervisor connects to the TAP the agent made for the VIF (learnt from
   * the host's report, as an operator reads it on the host page).
   */
  async boot(vm: VmView, opts: { gateway?: string; ns?: string } = {}): Promise<Guest> {
    const vif = vm.vifs[0]!;
    const host = this.hostName(vm.hostId);
    const vnet = this.vnets.get(vif.vnetId)!;
    const tap = await this.tapOf(host, vif.mac);
    const ns = opts.ns ?? (await this.w.h.addNs(`g${vm.name}`));
    await this.w.hosts[host].hv.attach({
      tap, netns: ns, mac: vif.mac, cidr: `${vif.ip}/${vnet.cidr.split('/')[1]}`, mtu: vnet.mtu, ...(opts.gateway ? { gateway: opts.gateway } : {}),
    });
    return { name: vm.name, id: vm.id, ns, host, ip: vif.ip, mac: vif.mac, vnetId: vif.vnetId, tap };
  }

  /** The TAP behind the VIF with `mac` on `host`, from the host's latest report. */
  async tapOf(host: HostName, mac: string): Promise<string> {
    let tap: string | undefined;
    await waitFor(async () => {
      const r = await this.w.api.host.report.query({ id: this.w.hosts[host].id });
      const vif = r.report?.vifs?.find((v) => v.mac === mac);
      tap = (vif?.guest as { ifname?: string } | undefined)?.ifname;
      return tap !== undefined;
    }, `the TAP of VIF ${mac} in ${host}'s report`, 15_000, 200);
    return tap!;
  }

  hostName(hostId: string | null): HostName {
    const found = Object.values(this.w.hosts).find((x) => x.id === hostId);
    if (!found) throw new Error(`no matrix host with id ${hostId}`);
    return found.name;
  }
}

export { GUEST_IFNAME };
