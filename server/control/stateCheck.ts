// The contract check of the states a recompute stores (hostStateSchema), the
// same verdict at a fleet's cost. A deploy of 1,000 hosts checked 1,000
// documents in which most of the text is shared: a vnet's DHCP section
// (its whole name list) is one object on every host that carries the vnet,
// and the peer lists name the same few hundred addresses over and over.
// Each distinct DHCP section (by identity) and each distinct address string
// is checked once, with the contract's own schemas for those fields, and the
// rest of the document — with those parts set aside — is checked by
// hostStateSchema itself, every other rule included (the cross-field rules
// read neither). A document this path does not pass is checked whole by
// hostStateSchema, so a refused state names the same field and message as
// before.
import type { z } from 'zod';
import { hostStateSchema, relaySchema, underlaySchema, vnetSchema } from '../../contract/hostState.ts';
import { ipv4 } from '../../contract/fields.ts';

type Issue = z.core.$ZodIssue;
type Obj = Record<string, unknown>;

const dhcpSchema = vnetSchema.shape.dhcp;
/** The address lists set aside, each with its own schema (checked on `[]`: they carry no list-level rule, stateCheck.test.ts). */
export const ADDRESS_LISTS = {
  vnetPeers: vnetSchema.shape.peers,
  underlayPeers: underlaySchema.shape.peers,
  underlayMembers: underlaySchema.shape.members,
  relayPeers: relaySchema.shape.peers,
} as const;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What one batch of documents has already checked. */
export class StateChecker {
  private readonly dhcp = new WeakMap<object, boolean>();
  private readonly addresses = new Map<string, boolean>();

  private addressesOk(list: unknown): boolean {
    if (list === undefined) return true;
    if (!Array.isArray(list)) return false;
    for (const a of list) {
      if (typeof a !== 'string') return false;
      let ok = this.addresses.get(a);
      if (ok === undefined) this.addresses.set(a, (ok = ipv4.safeParse(a).success));
      if (!ok) return false;
    }
    return true;
  }

  private dhcpOk(d: unknown): boolean {
    if (d === undefined) return true;
    if (!isObj(d)) return false;
    let ok = this.dhcp.get(d);
    if (ok === undefined) this.dhcp.set(d, (ok = dhcpSchema.safeParse(d).success));
    return ok;
  }

  /** The document with its shared parts set aside once they passed, or null when one did not (or is not where expected). */
  private standIn(doc: unknown): Obj | null {
    if (!isObj(doc) || !Array.isArray(doc.vnets) || !isObj(doc.underlay)) return null;
    const vnets: unknown[] = [];
    for (const v of doc.vnets) {
      if (!isObj(v)) return null;
      if (!this.dhcpOk(v.dhcp) || !this.addressesOk(v.peers)) return null;
      const { dhcp: _dhcp, ...rest } = v;
      vnets.push(v.peers === undefined ? rest : { ...rest, peers: [] });
    }
    const u = doc.underlay;
    if (!this.addressesOk(u.peers) || !this.addressesOk(u.members)) return null;
    const underlay = { ...u, ...(u.peers === undefined ? {} : { peers: [] }), ...(u.members === undefined ? {} : { members: [] }) };
    let relay = doc.relay;
    if (isObj(relay) && relay.peers !== undefined) {
      if (!this.addressesOk(relay.peers)) return null;
      relay = { ...relay, peers: [] };
    }
    return { ...doc, vnets, underlay, ...(doc.relay === undefined ? {} : { relay }) };
  }

  /** hostStateSchema's first issue with `doc`, or null when it passes. */
  firstIssue(doc: unknown): Issue | null {
    const s = this.standIn(doc);
    if (s && hostStateSchema.safeParse(s).success) return null;
    const r = hostStateSchema.safeParse(doc);
    return r.success ? null : r.error.issues[0]!;
  }
}
