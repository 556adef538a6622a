// Drives test/netns/hypervisor.ts in one host namespace: attach a VM the
// console placed on that host to its guest namespace, detach it again.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { NetnsHarness } from './harness.ts';
import { repoRoot } from './agents.ts';

export interface AttachCommand {
  op: 'attach';
  /** The VM's TAP that the agent created in this host's namespace. */
  tap: string;
  /** The VM's namespace (it exists); its device is called GUEST_IFNAME. */
  netns: string;
  mac: string;
  cidr: string;
  mtu: number;
  gateway?: string;
}
export interface DetachCommand {
  op: 'detach';
  tap: string;
}
export type HypervisorCommand = (AttachCommand | DetachCommand) & { id: number };

/** The name of the VM's device inside its namespace. */
export const GUEST_IFNAME = 'eth0';
const SCRIPT = join(repoRoot, 'test', 'netns', 'hypervisor.ts');

export class Hypervisor {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, { ok: () => void; fail: (e: Error) => void }>();
  private readonly errors: string[] = [];

  constructor(
    private readonly h: NetnsHarness,
    readonly ns: string,
  ) {}

  async start(): Promise<void> {
    const child = this.h.spawn(this.ns, process.execPath, ['--import', 'tsx', SCRIPT], { netOnly: true, cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    child.stderr?.on('data', (d: Buffer) => this.errors.push(d.toString()));
    const ready = new Promise<void>((ok, fail) => {
      child.once('exit', (code) => fail(new Error(`hypervisor in ${this.ns} exited ${code}: ${this.errors.join('')}`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const m = JSON.parse(line) as { ready?: boolean; id?: number; ok?: boolean; error?: string };
        if (m.ready) return ok();
        const w = m.id !== undefined ? this.waiting.get(m.id) : undefined;
        if (!w) return;
        this.waiting.delete(m.id!);
        if (m.ok) w.ok();
        else w.fail(new Error(`hypervisor in ${this.ns}: ${m.error}`));
      });
    });
    await ready;
  }

  private call(cmd: AttachCommand | DetachCommand): Promise<void> {
    const id = this.nextId++;
    return new Promise<void>((ok, fail) => {
      this.waiting.set(id, { ok, fail });
      this.child!.stdin!.write(`${JSON.stringify({ ...cmd, id })}\n`);
    });
  }

  attach(cmd: Omit<AttachCommand, 'op'>): Promise<void> {
    return this.call({ op: 'attach', ...cmd });
  }

  detach(tap: string): Promise<void> {
    return this.call({ op: 'detach', tap });
  }

  async stop(): Promise<void> {
    if (this.child) await this.h.kill(this.child);
    this.child = undefined;
  }
}
