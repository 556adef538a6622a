// A real VM for the namespace suite: QEMU booting the distribution's kernel
// (Debian linux-image-amd64) with a small initramfs built here from Debian's
// busybox-static, the virtio-net modules of that kernel and iperf3 with its
// libraries. The VM is driven through its serial console: commands go to a
// shell on ttyS0 and each ends with a marker carrying its exit status.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { NetnsHarness } from './harness.ts';

export const QEMU = '/usr/bin/qemu-system-x86_64';
export const BUSYBOX = '/bin/busybox';
const IPERF3 = '/usr/bin/iperf3';
/** Modules virtio-net needs in a Debian kernel (the rest come as their dependencies). */
const MODULES = ['virtio_pci', 'virtio_net'];

/** The newest Debian kernel in /boot and its version, or null. */
export function debianKernel(): { vmlinuz: string; version: string } | null {
  let names: string[];
  try {
    names = readdirSync('/boot').filter((n) => /^vmlinuz-.+/.test(n));
  } catch {
    return null;
  }
  const usable = names.map((n) => n.slice('vmlinuz-'.length)).filter((v) => existsSync(`/lib/modules/${v}/modules.dep`));
  usable.sort();
  const version = usable.at(-1);
  return version ? { vmlinuz: `/boot/vmlinuz-${version}`, version } : null;
}

/** What the VM test needs on the host, or the reason it is missing. */
export function vmPrerequisites(): string | null {
  if (!existsSync(QEMU)) return `${QEMU} is missing (qemu-system-x86)`;
  if (!debianKernel()) return 'no kernel in /boot with its modules (linux-image-amd64)';
  if (!existsSync(BUSYBOX)) return `${BUSYBOX} is missing (busybox-static)`;
  if (!existsSync(IPERF3)) return `${IPERF3} is missing (iperf3)`;
  return null;
}

// ---------------------------------------------------------------- initramfs

interface Entry {
  path: string;
  mode: number;
  data?: Buffer;
}

/** A cpio archive in the "newc" format the kernel unpacks as its initramfs. */
function cpioNewc(entries: Entry[]): Buffer {
  const parts: Buffer[] = [];
  const pad = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  let ino = 1;
  const add = (name: string, mode: number, body: Buffer) => {
    const fields = [ino++, mode, 0, 0, 1, 0, body.length, 0, 0, 0, 0, name.length + 1, 0];
    const head = Buffer.from(`070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}${name}\0`, 'latin1');
    parts.push(head, pad(head.length), body, pad(body.length));
  };
  for (const e of entries) {
    const body = e.data ?? Buffer.alloc(0);
    add(e.path.replace(/^\//, ''), e.mode, body);
  }
  add('TRAILER!!!', 0, Buffer.alloc(0));
  return Buffer.concat(parts);
}

const DIR = 0o040755;
const FILE = 0o100755;

/** The module files (decompressed) virtio-net needs, in load order. */
function moduleFiles(version: string): Array<{ name: string; data: Buffer }> {
  const out: Array<{ name: string; data: Buffer }> = [];
  const seen = new Set<string>();
  for (const m of MODULES) {
    const text = execFileSync('/usr/sbin/modprobe', ['-S', version, '--show-depends', m], { encoding: 'utf8' });
    for (const line of text.split('\n')) {
      const file = /^insmod (\S+)/.exec(line)?.[1];
      if (!file || seen.has(file)) continue;
      seen.add(file);
      let data: Buffer;
      if (file.endsWith('.xz')) data = execFileSync('/usr/bin/xz', ['-dc', file], { maxBuffer: 64 << 20 });
      else if (file.endsWith('.zst')) data = execFileSync('/usr/bin/zstd', ['-dc', file], { maxBuffer: 64 << 20 });
      else if (file.endsWith('.gz')) data = execFileSync('/usr/bin/gzip', ['-dc', file], { maxBuffer: 64 << 20 });
      else data = readFileSync(file);
      out.push({ name: file.split('/').pop()!.replace(/\.(xz|zst|gz)$/, ''), data });
    }
  }
  return out;
}

/** A dynamic binary and every library ldd names, at their paths. */
function withLibraries(binary: string): Entry[] {
  const paths = [binary];
  for (const line of execFileSync('/usr/bin/ldd', [binary], { encoding: 'utf8' }).split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) paths.push(m[1]!);
  }
  return paths.map((p) => ({ path: p, mode: FILE, data: readFileSync(realpathSync(p)) }));
}

/** Prints the lease it got and configures eth0 with it (address, MTU, default route, resolv.conf). */
const UDHCPC_SCRIPT = `#!/bin/sh
case "$1" in bound|renew)
  echo "LEASE ip=$ip mask=$mask router=$router mtu=$mtu dns=$dns serverid=$serverid domain=$domain hostname=$hostname"
  : > /etc/resolv.conf
  [ -n "$domain" ] && echo "search $domain" >> /etc/resolv.conf
  for s in $dns; do echo "nameserver $s" >> /etc/resolv.conf; done
  ip addr flush dev "$interface"
  ip addr add "$ip/$mask" dev "$interface"
  [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
  [ -n "$router" ] && ip route add default via "$router"
;; esac
exit 0
`;

/** PID 1: mounts, loads virtio-net, then a shell on the serial console. */
function initScript(modules: string[]): string {
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
${modules.map((m) => `insmod /lib/modules/${m} || echo "INSMOD-FAILED ${m}"`).join('\n')}
ip link set lo up
ip link set eth0 up || echo "NO-ETH0"
stty -echo 2>/dev/null
echo "VM-READY $(cat /sys/class/net/eth0/address 2>/dev/null)"
exec /bin/sh </dev/console >/dev/console 2>&1
`;
}

/** Writes the initramfs (gzip-compressed newc cpio) to `file`. */
export async function buildInitramfs(file: string, kernelVersion: string): Promise<void> {
  const modules = moduleFiles(kernelVersion);
  const entries: Entry[] = [];
  const dirs = new Set<string>();
  const addDirs = (p: string) => {
    const parts = p.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const d = `/${parts.slice(0, i).join('/')}`;
      if (!dirs.has(d)) {
        dirs.add(d);
        entries.push({ path: d, mode: DIR });
      }
    }
  };
  const files: Entry[] = [
    { path: '/bin/busybox', mode: FILE, data: readFileSync(BUSYBOX) },
    { path: '/init', mode: FILE, data: Buffer.from(initScript(modules.map((m) => m.name))) },
    { path: '/udhcpc.sh', mode: FILE, data: Buffer.from(UDHCPC_SCRIPT) },
    ...modules.map((m) => ({ path: `/lib/modules/${m.name}`, mode: 0o100644, data: m.data })),
    ...withLibraries(IPERF3),
  ];
  for (const d of ['/proc', '/sys', '/dev', '/tmp', '/etc', '/usr/bin', '/lib64']) {
    addDirs(`${d}/x`);
  }
  for (const f of files) addDirs(f.path);
  entries.push(...files);
  await writeFile(file, gzipSync(cpioNewc(entries), { level: 1 }));
}

/**
 * The initramfs for `kernelVersion`, built once and kept in `dir` (default
 * /var/tmp/softudc-vm) under a name that changes with its inputs (this file,
 * busybox, iperf3 and the kernel's modules): later runs reuse it.
 */
export async function cachedInitramfs(kernelVersion: string, dir = join('/var/tmp', 'softudc-vm')): Promise<string> {
  const key = createHash('sha256').update(readFileSync(fileURLToPath(import.meta.url)));
  for (const f of [BUSYBOX, IPERF3, `/lib/modules/${kernelVersion}/modules.dep`]) {
    const s = statSync(f);
    key.update(`${f} ${s.size} ${s.mtimeMs}\n`);
  }
  const file = join(dir, `initramfs-${kernelVersion}-${key.digest('hex').slice(0, 16)}.gz`);
  if (existsSync(file)) return file;
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await buildInitramfs(tmp, kernelVersion);
  await rename(tmp, file);
  return file;
}

// ---------------------------------------------------------------- the VM

export interface VmOptions {
  ns: string;
  initramfs: string;
  tap: string;
  mac: string;
  vnetHdr: boolean;
  accel: 'kvm' | 'tcg';
  /** Extra QEMU arguments (e.g. a monitor socket, -incoming). */
  extra?: string[];
}

/**
 * The QEMU network arguments exactly as docs/operations.md ("TAP guests")
 * tells users to attach a VM to the TAP the agent owns.
 */
export function documentedNetArgs(tap: string, mac: string, vnetHdr: boolean): string[] {
  return ['-netdev', `tap,id=n0,ifname=${tap},script=no,downscript=no,vnet_hdr=${vnetHdr ? 'on' : 'off'}`, '-device', `virtio-net-pci,netdev=n0,mac=${mac}`];
}

export class Vm {
  private out = '';
  private cursor = 0;
  private seq = 0;
  readonly child: ChildProcess;

  constructor(
    private readonly h: NetnsHarness,
    readonly opts: VmOptions,
  ) {
    const kernel = debianKernel()!;
    const cpu = opts.accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg', '-cpu', 'qemu64'];
    const args = [
      ...cpu, '-smp', '1', '-m', '384', '-nodefaults', '-no-user-config', '-no-reboot', '-display', 'none',
      '-serial', 'stdio', '-kernel', kernel.vmlinuz, '-initrd', opts.initramfs,
      '-append', 'console=ttyS0 panic=-1 quiet loglevel=3 net.ifnames=0',
      ...documentedNetArgs(opts.tap, opts.mac, opts.vnetHdr),
      ...(opts.extra ?? []),
    ];
    this.child = h.spawn(opts.ns, QEMU, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (d: Buffer) => (this.out += d.toString('latin1')));
    this.child.stderr?.on('data', (d: Buffer) => (this.out += d.toString('latin1')));
  }

  /** Everything the console printed so far (for failure messages). */
  get output(): string {
    return this.out;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Waits for `re` in the output after the cursor; moves the cursor past it. */
  async waitFor(re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = new RegExp(re.source, re.flags.replace('g', '')).exec(this.out.slice(this.cursor));
      if (m) {
        this.cursor += m.index + m[0].length;
        return m;
      }
      if (this.exited) throw new Error(`QEMU exited (${this.child.exitCode ?? this.child.signalCode}) before ${re}:\n${this.out.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`no ${re} on the VM console within ${timeoutMs} ms:\n${this.out.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Runs a shell command in the VM; its output and exit status. */
  async run(cmd: string, timeoutMs = 60_000): Promise<{ code: number; output: string }> {
    const n = ++this.seq;
    const start = this.out.length;
    this.cursor = start;
    // The marker is assembled by the shell, so an echoed command line never matches it.
    this.child.stdin!.write(`${cmd}; echo "@@"$?"@@${n}@@"\n`);
    const m = await this.waitFor(new RegExp(`@@(\\d+)@@${n}@@`), timeoutMs);
    const output = this.out.slice(start, this.cursor - m[0].length);
    return { code: Number(m[1]), output };
  }

  /** Like run, but throws on a non-zero exit status. */
  async must(cmd: string, timeoutMs = 60_000): Promise<string> {
    const r = await this.run(cmd, timeoutMs);
    if (r.code !== 0) throw new Error(`VM: ${cmd} → exit ${r.code}:\n${r.output}`);
    return r.output;
  }

  async stop(): Promise<void> {
    await this.h.kill(this.child, 2000);
  }
}

/**
 * Boots a VM and waits until its shell is up. With `accel: 'auto'`, KVM is
 * tried first where /dev/kvm exists (a paravirtual KVM may not boot a stock
 * kernel): a VM that is not up within `kvmTimeoutMs` is stopped and TCG used.
 */
export async function bootVm(h: NetnsHarness, opts: Omit<VmOptions, 'accel'> & { accel: 'kvm' | 'tcg' | 'auto' }, kvmTimeoutMs = 25_000): Promise<Vm> {
  const tries: Array<'kvm' | 'tcg'> = opts.accel === 'auto' ? (existsSync('/dev/kvm') ? ['kvm', 'tcg'] : ['tcg']) : [opts.accel];
  for (const accel of tries) {
    const vm = new Vm(h, { ...opts, accel });
    try {
      await vm.waitFor(/VM-READY/, accel === 'kvm' && tries.length > 1 ? kvmTimeoutMs : 180_000);
      console.log(`VM booted with ${accel === 'kvm' ? 'KVM' : 'TCG (-accel tcg -cpu qemu64)'}`);
      return vm;
    } catch (err) {
      const exited = vm.exited; // before stop(), which ends it either way
      await vm.stop();
      if (accel === tries.at(-1)) throw err;
      const why = exited ? `QEMU exited: ${vm.output.trim().split('\n').slice(0, 2).join(' ')}` : `not up within ${kvmTimeoutMs} ms`;
      console.log(`VM did not boot with KVM (${why}); using TCG`);
    }
  }
  throw new Error('unreachable');
}
