import { describe, expect, it } from 'vitest';
import { NAMESPACE_TAP, fastDevice, vifReason, vnetReasons } from './eligibility.ts';
import { KernelPath } from './fastpath.ts';
import type { FastVif, KernelInputs } from './types.ts';
import { Counters } from '../metrics.ts';
import { silentLogger } from '../log.ts';

const vmGuest = { device: { ifname: 'sdv1', netns: null }, packetFd: 20 };
const vif = (over: Partial<FastVif['spec']> = {}, guest: FastVif['guest'] = vmGuest): FastVif => ({
  spec: { id: 'v1', vnet: 7, guest: { kind: 'tap' }, ...over },
  mac: 0x025d00000001,
  ip: 0x0a070001,
  error: null,
  guest,
});
const inputs = (vifs: FastVif[]): KernelInputs => ({
  state: {
    underlay: { address: '198.18.0.1', port: 1798, multicast: null, peers: [] },
    vnets: [
      { id: 7, security: 'none' },
      { id: 8, security: 'conf', keys: [], sendKeyId: 1 },
      { id: 9, security: 'none', vlan: { parent: 'eth1', id: 42 } },
    ] as KernelInputs['state']['vnets'],
  },
  admitted: [],
  vifs,
  ports: [],
  varp: null,
});

describe('which VIFs the kernel fast path may carry', () => {
  it('takes a plain VM guest on an open vnet, and says why not for every other', () => {
    const vnets = vnetReasons(inputs([]));
    expect(vnets.get(7)).toBeNull();
    expect(vnets.get(8)).toBe('vnet sealed');
    expect(vnets.get(9)).toBe('vnet has a VLAN uplink');
    expect(vifReason(vif(), null)).toBeNull();
    expect(vifReason(vif({ guest: { kind: 'emulated' } }), null)).toBe('emulated guest');
    expect(vifReason(vif(), 'vnet sealed')).toBe('vnet sealed');
    expect(vifReason(vif({ limit: { egressMbps: 10 } }), null)).toBe('bandwidth limit');
    expect(vifReason(vif({}, { device: { ifname: 'eth0', netns: 'g1' }, packetFd: -1 }), null)).toBe(NAMESPACE_TAP);
    expect(vifReason(vif({ securityGroups: ['web'] }), null)).toBe('security groups');
    expect(vifReason(vif({ securityGroups: [] }), null)).toBe('security groups'); // an empty list allows nothing: still filtered
    expect(vifReason(vif({ securityGroups: ['web'] }, { device: { ifname: 'eth0', netns: 'g1', host: 'sv0123456789ab' }, packetFd: 21 }), null)).toBe('security groups');
    expect(vifReason(vif({}, null), null)).toBe('guest not up');
    expect(vifReason(vif(), undefined)).toBe('vnet unknown');
  });

  it('takes a namespace guest on a veth pair, on its host end', () => {
    const veth = vif({}, { device: { ifname: 'eth0', netns: 'g1', host: 'sv0123456789ab' }, packetFd: 21 });
    expect(vifReason(veth, null)).toBeNull();
    expect(fastDevice(veth)).toBe('sv0123456789ab');
    expect(fastDevice(vif())).toBe('sdv1');
    expect(fastDevice(vif({}, { device: { ifname: 'eth0', netns: 'g1' }, packetFd: -1 }))).toBeNull();
  });

  it('with SOFTUDC_DATAPATH=userspace loads nothing and reports every VIF in userspace with its reason', async () => {
    const k = new KernelPath('userspace', silentLogger, new Counters());
    await k.apply(inputs([vif(), { ...vif({ id: 'v2', vnet: 8 }) }, vif({ id: 'v3' }, { device: { ifname: 'eth0', netns: 'g1' }, packetFd: -1 })]));
    expect(k.possible).toBe(false);
    expect(k.view()).toMatchObject({ mode: 'userspace', active: false, reason: 'SOFTUDC_DATAPATH=userspace', device: null });
    expect(k.view().counters.tx_encap_frames).toBe(0);
    expect(k.pathOf('v1')).toEqual({ path: 'userspace', reason: 'kernel path off: SOFTUDC_DATAPATH=userspace' });
    expect(k.pathOf('v2')).toEqual({ path: 'userspace', reason: 'vnet sealed' });
    // A namespace guest on a TAP because the path is off: the path's reason.
    expect(k.pathOf('v3')).toEqual({ path: 'userspace', reason: 'kernel path off: SOFTUDC_DATAPATH=userspace' });
    await k.stop();
  });
});
