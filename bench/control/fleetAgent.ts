// A simulated agent of the fleet benchmark: what a managed agent does on the
// console link, over real HTTP, without a dataplane. It holds the
// agent.desired SSE stream with its own host credential, takes every state
// it receives (parses the message, keeps its generation and VIFs) and
// reports it with agent.report, the way agent/control/ does after an apply;
// it also reports every REPORT_INTERVAL_MS like a real agent.
import http from 'node:http';
import type { Report } from '../../contract/report.ts';
import { openDesiredStream } from './desiredStream.ts';

const REPORT_INTERVAL_MS = 5_000;

interface StateVif {
  id: string;
  vnet: number;
  mac: string;
  ip: string;
  version: number;
  guest: { kind: string };
}

/** Keep-alive connections for the reports (an agent keeps one to its console). */
const reportAgent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

export class FleetAgent {
  /** The generation last applied and reported (-1: none yet). */
  applied = -1;
  /** When each generation arrived, and when it was reported applied (performance.now()). */
  readonly receivedAt = new Map<number, number>();
  readonly reportedAt = new Map<number, number>();
  failures = 0;
  lastError = '';
  private vifs: StateVif[] = [];
  private req: http.ClientRequest | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly credential: string,
  ) {}

  /** Opens the stream; resolves once the first state has been taken (its report sent, delivered or not). */
  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.req = openDesiredStream(this.url, this.credential, {
        data: (data) => void this.apply(data).then(resolve, reject),
        error: (e) => (this.closed ? undefined : reject(e)),
        close: () => {
          if (this.applied < 0) reject(new Error('agent.desired closed before sending a state'));
        },
      });
    });
  }

  private async apply(data: string): Promise<void> {
    const arrived = performance.now();
    const parsed = JSON.parse(data) as { json?: unknown };
    const message = (parsed.json ?? parsed) as { generation: number; state: { vifs: StateVif[] } };
    const generation = message.generation;
    this.receivedAt.set(generation, arrived);
    this.vifs = message.state.vifs.map((v) => ({ id: v.id, vnet: v.vnet, mac: v.mac, ip: v.ip, version: v.version, guest: { kind: v.guest.kind } }));
    this.applied = generation;
    // Like the agent (agent/control/link.ts): a report that fails is noted, and the next one goes with the interval.
    this.timer ??= setInterval(() => void this.report(this.applied).catch(() => undefined), REPORT_INTERVAL_MS);
    await this.report(generation).catch(() => undefined);
  }

  private report(generation: number): Promise<void> {
    const report: Report = {
      appliedGeneration: generation,
      agentVersion: 'fleet-bench',
      uptimeS: process.uptime(),
      vifs: this.vifs,
      varp: [],
      counters: {},
      health: { status: 'ok', messages: [] },
      applyError: null,
    };
    const body = JSON.stringify({ json: report });
    return new Promise((resolve, reject) => {
      const req = http.request(
        `${this.url}/agent.report`,
        {
          method: 'POST',
          agent: reportAgent,
          headers: { authorization: `Bearer ${this.credential}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            if (res.statusCode === 200) {
              if (!this.reportedAt.has(generation)) this.reportedAt.set(generation, performance.now());
              return resolve();
            }
            this.failures++;
            this.lastError = `agent.report: HTTP ${res.statusCode} ${text.slice(0, 200)}`;
            reject(new Error(this.lastError));
          });
        },
      );
      req.on('error', (e) => {
        this.failures++;
        this.lastError = String(e);
        reject(e);
      });
      req.end(body);
    });
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.req?.destroy();
  }
}

/** Ends the keep-alive report connections (at the end of a run). */
export function closeReportConnections(): void {
  reportAgent.destroy();
}
