// A TCP proxy on loopback that a test can cut: every connection through it
// is destroyed at once (as when a database host vanishes) and new ones are
// refused until it is resumed. Optionally it cuts by itself the moment the
// client sends given bytes, to fail a transaction halfway through.
import net from 'node:net';

export class TcpProxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  private trigger: { pattern: RegExp; fired: () => void } | null = null;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(port = 0): Promise<number> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.on('data', (chunk: Buffer) => {
        const t = this.trigger;
        // Postgres frames carry SQL text in clear: a match means that statement is on its way.
        if (t && t.pattern.test(chunk.toString('latin1'))) {
          this.trigger = null;
          this.cut();
          t.fired();
          return;
        }
        upstream.write(chunk);
      });
      upstream.on('data', (chunk: Buffer) => client.write(chunk));
      client.on('end', () => upstream.end());
      upstream.on('end', () => client.end());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.port = (server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** Destroys every connection and stops listening (new connections are refused). */
  cut(): void {
    const s = this.server;
    this.server = null;
    s?.close();
    for (const sock of this.sockets) sock.destroy();
    this.sockets.clear();
  }

  /** Listens again on the same port. */
  async resume(): Promise<void> {
    if (!this.server) await this.start(this.port);
  }

  /** Cuts everything when the client next sends bytes matching `pattern`; resolves when it did. */
  cutOn(pattern: RegExp): Promise<void> {
    return new Promise((fired) => {
      this.trigger = { pattern, fired };
    });
  }

  /** Replaces host and port of a postgres:// URL with this proxy's. */
  urlFor(databaseUrl: string): string {
    const u = new URL(databaseUrl);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }
}
