import { describe, expect, it } from 'vitest';
import { fuzzer } from '../../test/agent-fuzz.ts';
import { Dispatcher, RX_DROPPED, RX_HANDLED } from './dispatch.ts';
import { EmulatedGuest } from '../guests/index.ts';
import { silentLogger } from '../log.ts';
import { Counters } from '../metrics.ts';
import { parseState } from '../state.ts';
import { Switch } from '../switch/index.ts';
import { Varp } from '../varp/index.ts';
import { parseIp, parseMac } from '../wire/index.ts';

describe('underlay datagram dispatch', () => {
  it('accounts for every datagram as handled or dropped, whatever it holds', async () => {
    const counters = new Counters();
    const sent: Buffer[] = [];
    const varp = new Varp(
      { ownCoa: parseIp('127.0.0.2'), port: 1798, sendFlood: (m) => sent.push(m), sendTo: (m) => sent.push(m), resolved: () => {}, unresolved: () => {} },
      counters,
    );
    varp.start();
    const sw = new Switch({ varp, sendTo: (d) => sent.push(d), flood: (d) => sent.push(d) }, counters);
    sw.upsertVnet({ id: 7, security: 'none' });
    const spec = parseState({
      host: 'h',
      underlay: { address: '127.0.0.2' },
      vnets: [{ id: 7 }],
      vifs: [{ id: 'a', vnet: 7, mac: '02:5d:00:00:00:0a', ip: '10.7.0.10/24', version: 1, guest: { kind: 'emulated' } }],
    }).vifs[0]!;
    const guest = new EmulatedGuest(spec, { logger: silentLogger, counters });
    sw.addPort({ id: 'a', vnet: 7, mac: guest.mac, ip: guest.ip, guest });
    await guest.start();
    varp.attach({ vnet: 7, mac: guest.mac, ip: guest.ip, version: 1 });

    const d = new Dispatcher(counters, silentLogger);
    const target = { varp, sw, varpKey: undefined, ownAddress: '127.0.0.2', ownPort: 1798 };
    const next = fuzzer({ vnet: 7, mac: parseMac('02:5d:00:00:00:0a'), ip: parseIp('10.7.0.10'), coa: parseIp('127.0.0.9') }, 42);
    const N = 30_000;
    for (let i = 0; i < N; i++) d.handle(target, next(), { address: '127.0.0.9', port: 1798 });
    d.handle(target, Buffer.from([0, 2, 0, 0]), { address: '127.0.0.2', port: 1798 }); // our own echo
    varp.stop();

    const handled = counters.sum(RX_HANDLED);
    const dropped = counters.sum(RX_DROPPED);
    expect(handled + dropped).toBe(N + 1);
    expect(counters.get(`${RX_DROPPED}{reason="own"}`)).toBe(1);
    expect(counters.get(`${RX_DROPPED}{reason="handler_error"}`)).toBe(0);
    // The mix really exercises both sides: valid messages reach the guest, bad ones hit many reasons.
    expect(counters.get(`${RX_HANDLED}{kind="frame"}`)).toBeGreaterThan(500);
    expect(counters.get(`${RX_HANDLED}{kind="varp"}`)).toBeGreaterThan(500);
    expect(counters.get('softudc_emulated_icmp_echo_replies_total')).toBeGreaterThan(50);
    const reasons = Object.keys(counters.snapshot()).filter((k) => k.startsWith(RX_DROPPED));
    expect(reasons.length).toBeGreaterThan(10);
  });
});
