// The TAP reader's own cost (agent/native/reader.c) on a VM's packet socket,
// without a VM: this process holds a TAP with the virtio-net header, as QEMU
// with vnet_hdr=on does, and writes small frames to it; a child process reads
// them through a packet socket with the addon's reader and reports its CPU
// time per frame and the frames per wake-up. Two cases: `queued` (the frames
// wait in the socket's buffer before the reader starts, so every wake-up
// finds a full batch) and `stream` (written while the reader runs).
//   ip netns add tr && ip netns exec tr npx tsx bench/tap-read.ts; ip netns del tr
// (as root, in a namespace of its own: it creates a TAP named sdtapread0).
import { execFileSync, spawn } from 'node:child_process';
import { writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadTapAddon } from '../agent/native/index.ts';

const IFNAME = 'sdtapread0';
const QUEUED = 8000; // fits the socket's 8 MiB receive buffer
const STREAM = 300_000;

/** The reader: prints `ready`, starts reading on `go`, reports after `frames` frames. */
function reader(frames: number): void {
  const addon = loadTapAddon();
  const fd = addon.openPacket(IFNAME, true);
  let got = 0;
  let wakeups = 0;
  let cpu0: NodeJS.CpuUsage | undefined;
  const report = () => {
    const c = process.cpuUsage(cpu0);
    console.log(JSON.stringify({ frames: got, usPerFrame: (c.user + c.system) / got, framesPerWakeup: got / wakeups }));
    process.exit(0);
  };
  // The second message: the writer is done (frames the socket dropped never come).
  process.stdin.on('data', () => {
    if (cpu0) return report();
    cpu0 = process.cpuUsage();
    addon.startReader(
      fd,
      (batch) => {
        got += batch.length;
        wakeups++;
        if (got >= frames) report();
      },
      (err) => {
        console.error(`read failed: ${err.code}`);
        process.exit(1);
      },
      64,
      true,
    );
  });
  process.stdout.write('ready\n');
}

async function run(mode: 'queued' | 'stream'): Promise<string> {
  const addon = loadTapAddon();
  const vm = addon.openTap(IFNAME, true, false);
  execFileSync('ip', ['link', 'set', IFNAME, 'up']);
  const n = mode === 'queued' ? QUEUED : STREAM;
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'reader', String(n)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  while (!out.includes('ready')) await new Promise((r) => setTimeout(r, 20));
  // A zero virtio-net header (no offload) and an 80-byte frame of a local experimental type.
  const frame = Buffer.alloc(10 + 80, 0x11);
  frame.fill(0, 0, 10);
  Buffer.from('025d000001ff025d00000101', 'hex').copy(frame, 10);
  frame.writeUInt16BE(0x88b6, 22);
  const write = () => writeSync(vm.fd, frame);
  if (mode === 'queued') for (let i = 0; i < n; i++) write();
  child.stdin.write('go');
  if (mode === 'stream') {
    for (let i = 0; i < n; i++) {
      write();
      if (i % 2000 === 0) await new Promise((r) => setImmediate(r));
    }
  }
  const exited = new Promise((r) => child.on('exit', r));
  await new Promise((r) => setTimeout(r, 1000));
  if (child.exitCode === null) child.stdin.write('end');
  await exited;
  addon.closeFd(vm.fd);
  return out.split('\n').find((l) => l.startsWith('{')) ?? '(no result)';
}

if (process.argv[2] === 'reader') reader(Number(process.argv[3]));
else for (const mode of ['queued', 'stream'] as const) console.log(`${mode}: ${await run(mode)}`);
