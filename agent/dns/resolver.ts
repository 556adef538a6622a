// The resolver of one vnet: authoritative for the farm's VMs on it (A and
// PTR, from the desired state), NXDOMAIN for other names of its domain and
// reverse zone, and for anything else "ask upstream" or REFUSED.
import { CLASS_IN, decodeDns, encodeDns, parseReverseName, QType, Rcode, reverseName, type DnsMessage, type DnsRecord } from './codec.ts';
import { inPrefix } from '../wire/addr.ts';

/** Answers are built from the state, which changes rarely: a short TTL keeps a renamed VM visible within a minute. */
export const DNS_TTL_S = 30;

export interface ResolverConfig {
  domain?: string;
  names: { name: string; ip: number }[];
  /** The vnet's prefix (a reverse name inside it that is not a VM is NXDOMAIN). */
  network: number;
  prefixLen: number;
  /** Upstream resolvers exist: unknown names are forwarded, and RA is set. */
  recursive: boolean;
}

/** An answer to send, a query to forward upstream, or a counted drop. */
export type ResolverOutcome =
  | { kind: 'answer'; payload: Buffer; rcode: number }
  | { kind: 'forward'; query: DnsMessage }
  | { kind: 'drop'; reason: string };

export class VnetResolver {
  private readonly byName = new Map<string, number>();
  private readonly byIp = new Map<number, string>();
  private readonly domain: string | undefined;

  constructor(private readonly cfg: ResolverConfig) {
    this.domain = cfg.domain?.toLowerCase();
    for (const { name, ip } of cfg.names) {
      const n = name.toLowerCase();
      const fqdn = this.domain ? `${n}.${this.domain}` : n;
      this.byName.set(n, ip);
      this.byName.set(fqdn, ip);
      this.byIp.set(ip, fqdn);
    }
  }

  /** A query's bytes from a guest → what to do with it. Never throws. */
  resolve(payload: Buffer): ResolverOutcome {
    let q: DnsMessage;
    try {
      q = decodeDns(payload);
    } catch (err) {
      return { kind: 'drop', reason: `malformed_${(err as { code?: string }).code?.toLowerCase() ?? 'unknown'}` };
    }
    if (q.response) return { kind: 'drop', reason: 'response' };
    if (q.opcode !== 0) return this.reply(q, Rcode.NOTIMP, []);
    const question = q.questions[0];
    if (q.questions.length !== 1 || question === undefined) return this.reply(q, Rcode.FORMERR, []);
    const name = question.name;
    if (question.class === CLASS_IN) {
      const ip = this.byName.get(name);
      if (ip !== undefined) {
        const answers: DnsRecord[] = question.type === QType.A || question.type === QType.ANY ? [{ name, type: QType.A, class: CLASS_IN, ttl: DNS_TTL_S, data: ip }] : [];
        return this.reply(q, Rcode.NOERROR, answers, true); // other types of a known name: NODATA
      }
      const rev = parseReverseName(name);
      const target = rev === null ? undefined : this.byIp.get(rev);
      if (target !== undefined) {
        const answers: DnsRecord[] = question.type === QType.PTR || question.type === QType.ANY ? [{ name, type: QType.PTR, class: CLASS_IN, ttl: DNS_TTL_S, data: target }] : [];
        return this.reply(q, Rcode.NOERROR, answers, true);
      }
      if (this.isOurs(name, rev)) return this.reply(q, Rcode.NXDOMAIN, [], true);
    }
    if (this.cfg.recursive) return { kind: 'forward', query: q };
    return this.reply(q, Rcode.REFUSED, []);
  }

  /** A single label, a name in the domain, or a reverse name inside the vnet's prefix. */
  private isOurs(name: string, rev: number | null): boolean {
    if (rev !== null) return inPrefix(rev, this.cfg.network, this.cfg.prefixLen);
    if (!name.includes('.')) return true;
    return this.domain !== undefined && (name === this.domain || name.endsWith(`.${this.domain}`));
  }

  private reply(q: DnsMessage, rcode: number, answers: DnsRecord[], authoritative = false): ResolverOutcome {
    const payload = encodeDns({
      id: q.id, response: true, opcode: q.opcode, authoritative, truncated: false, recursionDesired: q.recursionDesired,
      recursionAvailable: this.cfg.recursive, rcode, questions: q.questions.slice(0, 1), answers, authorityCount: 0, additionalCount: 0,
    });
    return { kind: 'answer', payload, rcode };
  }
}

export { reverseName };
