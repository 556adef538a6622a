// A virtual firewall (seed 002: virtual firewalls separating the tiers of a
// farm, DMZs). Multi-homed like a virtual router — each interface a port on a
// vnet's switch — it routes between its interfaces' connected prefixes (it is
// the tiers' gateway) and filters every packet: packets of open connections
// pass (stateful tracking), new flows go through the ordered rules (first
// match), then the default policy. Every decision is counted per rule; denied
// flows are logged as structured lines under a token bucket.
import { IPPROTO_ICMP, IPPROTO_TCP, ipToString, parseMac } from '../wire/index.ts';
import { NodeHost, nodeView, type NodeDeps, type NodeInterface, type NodeView } from '../ipnode/index.ts';
import { TokenBucket } from '../limit/bucket.ts';
import { Conntrack, type ConntrackTimeouts } from './conntrack.ts';
import { ICMP_ERROR_TYPES, TCP_ACK, TCP_SYN, emptyFlow, readFlow, readQuotedFlow, type Flow } from './flow.ts';
import { compileRules, matchRule, type CompiledRule } from './rules.ts';
import { ExternalLegs } from './legs.ts';
import type { NatEntryView } from './nat.ts';
import type { FirewallRuleSpec, FirewallSpec } from '../../contract/firewall.ts';

/** How long the later fragments of an allowed first fragment may follow it (RFC 791's reassembly timer scale). */
const FRAGMENT_HOLD_MS = 30_000;
const FRAGMENTS_MAX = 4096;

export interface FirewallDeps extends NodeDeps {
  /** Overrides the spec's connection-tracking timeouts (tests). */
  conntrack?: Partial<ConntrackTimeouts>;
  /** The source ports NAT allocates (tests). */
  natPorts?: { min: number; max: number };
}

export interface FirewallView extends NodeView {
  defaultPolicy: 'allow' | 'deny';
  rules: { index: number; action: FirewallRuleSpec['action']; protocol: FirewallRuleSpec['protocol']; source: string; destination: string; ports: string | null; interface: string | null; hits: number }[];
  defaultHits: number;
  connections: { protocol: number; from: string; to: string; state: string; ingress: string; rule: number | 'default'; packets: [number, number]; expiresInMs: number }[];
  /** Translations of the external legs' NAT (their own table: the rules' connections above are by inside addresses). */
  nat: NatEntryView[];
}

export class VirtualFirewall extends NodeHost<FirewallSpec> {
  private rules: CompiledRule[] = [];
  private ruleHits: string[] = [];
  private defaultHits: string;
  private readonly conntrack: Conntrack;
  private readonly legs: ExternalLegs;
  private readonly fragments = new Map<string, number>();
  private readonly flow: Flow = emptyFlow();
  private readonly quoted: Flow = emptyFlow();
  private readonly logBucket: TokenBucket;
  private suppressed = 0;

  constructor(
    spec: FirewallSpec,
    private readonly deps: FirewallDeps,
  ) {
    super('firewall', spec, deps);
    this.conntrack = new Conntrack({ ...spec.conntrack, ...deps.conntrack });
    this.legs = new ExternalLegs(this.node, { ...spec.conntrack, ...deps.conntrack }, deps.natPorts);
    this.logBucket = new TokenBucket(spec.logRate ?? 10, spec.logBurst ?? 20);
    this.defaultHits = this.node.stats.name('rule_hits_total', 'rule="default"');
    this.node.filter = (buf, off, ihl, ingress, egress) => this.decide(buf, off, ihl, ingress, egress);
    this.compile();
  }

  protected override starting(): void {
    this.conntrack.start();
    this.legs.start();
  }

  /** New rules apply at once, also to open connections: those the new rules would refuse are closed. */
  protected override updated(old: FirewallSpec): void {
    const spec = this.spec;
    if (JSON.stringify([spec.rules, spec.defaultPolicy]) === JSON.stringify([old.rules, old.defaultPolicy])) return;
    this.compile();
    const f = emptyFlow();
    this.conntrack.sweep(Date.now(), (c) => {
      Object.assign(f, { protocol: c.protocol, src: c.a, dst: c.b, srcPort: c.aPort, dstPort: c.bPort, hasPorts: true, laterFragment: false });
      const r = matchRule(this.rules, f, c.ingress);
      return !(r ? r.allow : spec.defaultPolicy === 'allow');
    });
  }

  protected override stopping(): void {
    this.legs.stop();
    this.conntrack.stop();
    this.conntrack.clear();
  }

  private compile(): void {
    this.rules = compileRules(this.spec.rules);
    this.ruleHits = this.rules.map((r) => this.node.stats.name('rule_hits_total', `rule="${r.index}"`));
  }

  protected reconcile(): void {
    const ifs = this.ifs;
    ifs.reconcile(this.spec.interfaces.map((i) => ifs.ethernet(i.name, i.vnet, parseMac(i.mac), i.ip, ifs.mtu(i.vnet, i.mtu))));
    this.legs.sync(this.spec.interfaces.map((i) => ({ iface: i.name, ip: i.ip, nat: i.nat })), ifs.ethernets());
  }

  /** The packet filter: true lets the packet pass. Counts and logs what it refuses. */
  private decide(buf: Buffer, off: number, ihl: number, ingress: NodeInterface, egress: NodeInterface | null): boolean {
    const f = readFlow(buf, off, ihl, this.flow);
    const now = Date.now();
    const st = this.node.stats;
    if (f.laterFragment) {
      const k = fragKey(f);
      const until = this.fragments.get(k);
      if (until !== undefined && until > now) return true;
      st.drop('fragment');
      return false;
    }
    if (f.hasPorts) {
      const c = this.conntrack.lookup(f, now);
      if (c !== undefined) {
        const dir = this.conntrack.lastDirection;
        const reopen = c.state === 'CLOSED' && dir === 0 && (f.tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
        if (!reopen) {
          if (this.conntrack.advance(c, f, dir, now)) return this.pass(f, now);
          st.drop('invalid');
          return false;
        }
        this.conntrack.remove(c);
      }
    }
    if (f.protocol === IPPROTO_ICMP && ICMP_ERROR_TYPES.has(f.icmpType)) {
      // An error about a tracked connection is "related" and passes; any other is refused.
      const q = readQuotedFlow(buf, f, this.quoted);
      if (q !== null && this.conntrack.lookup(q, now) !== undefined) return true;
      st.drop('invalid');
      return false;
    }
    const opensConnection = f.protocol !== IPPROTO_TCP || (f.tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
    const isReplyOnly = f.protocol === IPPROTO_ICMP && f.hasPorts && f.srcPort === 0; // an echo reply
    if ((f.protocol === IPPROTO_TCP && f.hasPorts && !opensConnection) || isReplyOnly) {
      st.drop('invalid'); // mid-stream without a connection: never judged by the rules
      return false;
    }
    const rule = matchRule(this.rules, f, ingress.name);
    const allow = rule ? rule.allow : this.spec.defaultPolicy === 'allow';
    st.counters.inc(rule ? this.ruleHits[rule.index]! : this.defaultHits);
    if (!allow) {
      st.drop('filtered');
      if (!rule || rule.log) this.logDenied(f, ingress, egress, rule);
      return false;
    }
    if (f.hasPorts && egress !== null && this.conntrack.open(f, ingress.name, rule ? rule.index : 'default', now) === undefined) {
      st.drop('conntrack_full');
      return false;
    }
    if (rule?.log) this.deps.logger.info('firewall allowed a new flow', { firewall: this.id, rule: rule.index, ...flowFields(f, ingress, egress) });
    return this.pass(f, now);
  }

  private pass(f: Flow, now: number): boolean {
    if (f.firstFragment) {
      if (this.fragments.size >= FRAGMENTS_MAX) {
        for (const [k, t] of this.fragments) if (t <= now) this.fragments.delete(k);
      }
      if (this.fragments.size < FRAGMENTS_MAX) this.fragments.set(fragKey(f), now + FRAGMENT_HOLD_MS);
    }
    return true;
  }

  private logDenied(f: Flow, ingress: NodeInterface, egress: NodeInterface | null, rule: CompiledRule | undefined): void {
    if (!this.logBucket.take()) {
      this.suppressed++;
      this.node.stats.inc('deny_logs_suppressed_total');
      return;
    }
    const fields = { firewall: this.id, rule: rule ? rule.index : 'default', ...flowFields(f, ingress, egress), ...(this.suppressed ? { suppressed: this.suppressed } : {}) };
    this.suppressed = 0;
    this.deps.logger.warn('firewall denied a flow', fields);
  }

  /** Gauges of its NAT (the translation table's size). */
  natGauges(): Record<string, number> {
    return this.legs.gauges();
  }

  view(): FirewallView {
    const now = Date.now();
    const base = nodeView(this.node, this.ifs.ethernets());
    return {
      ...base,
      counters: { ...base.counters, ...this.legs.counters() },
      defaultPolicy: this.spec.defaultPolicy,
      rules: this.rules.map((r, i) => ({
        index: r.index, action: r.spec.action, protocol: r.spec.protocol, source: r.spec.source, destination: r.spec.destination,
        ports: r.portFrom < 0 ? null : r.portFrom === r.portTo ? `${r.portFrom}` : `${r.portFrom}-${r.portTo}`,
        interface: r.iface, hits: this.node.stats.counters.get(this.ruleHits[i]!),
      })),
      defaultHits: this.node.stats.counters.get(this.defaultHits),
      connections: this.conntrack.connections(now).map((c) => ({
        protocol: c.protocol, from: `${ipToString(c.a)}:${c.aPort}`, to: `${ipToString(c.b)}:${c.bPort}`, state: c.state,
        ingress: c.ingress, rule: c.rule, packets: [...c.packets] as [number, number], expiresInMs: c.expires - now,
      })),
      nat: this.legs.entries(),
    };
  }
}

function fragKey(f: Flow): string {
  return `${f.src}>${f.dst}/${f.protocol}#${f.ipId}`;
}

function flowFields(f: Flow, ingress: NodeInterface, egress: NodeInterface | null) {
  return {
    protocol: f.protocol, src: ipToString(f.src), srcPort: f.srcPort, dst: ipToString(f.dst), dstPort: f.dstPort,
    ...(f.protocol === IPPROTO_ICMP ? { icmpType: f.icmpType } : {}), ingress: ingress.name, egress: egress ? egress.name : 'local',
  };
}
