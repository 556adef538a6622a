// The hypervisor of one test host, for console-placed TAP VMs: the console
// sends `guest: {kind: "tap"}`, so the agent makes a persistent TAP in the
// host's namespace and waits for a VM to attach (docs/operations.md, "TAP
// guests"). This process attaches to it the way qemu does (TUNSETIFF on the
// existing device) and gives the VM a kernel: a second TAP whose network
// device it moves into the VM's namespace with the VIF's MAC, address, MTU
// and default route, as cloud-init would inside a VM. Frames are copied
// between the two descriptors, nothing else.
//
// Run inside a host namespace (enter only its network namespace, so the
// guest namespaces under /run/netns are visible):
//   node --import tsx test/netns/hypervisor.ts
// Commands are JSON lines on stdin, each answered by one JSON line on stdout:
//   {"id":1,"op":"attach","tap":"sdshop-web6c886","netns":"sdt-…-g1","mac":"02:…","cidr":"10.1.0.2/24","mtu":1400,"gateway":"10.1.0.1"}
//   {"id":2,"op":"detach","tap":"sdshop-web6c886"}
// Prints {"ready":true} once it reads commands.
import { createInterface } from 'node:readline';
import { loadTapAddon, type ReaderHandle } from '../../agent/native/index.ts';
import { configureLink, ip, moveLinkToNetns } from '../../agent/guests/netns.ts';
import { GUEST_IFNAME, type AttachCommand, type HypervisorCommand } from './hypervisor-client.ts';

/** Kernel-chosen name for the VM's device before it moves (TUNSETIFF replaces %d). */
const TEMP_IFNAME = 'sdvm%d';

interface Vm {
  readers: ReaderHandle[];
}

async function main(): Promise<void> {
  const addon = loadTapAddon();
  const vms = new Map<string, Vm>();

  const detach = (tap: string) => {
    const vm = vms.get(tap);
    vms.delete(tap);
    // Closing the VM side removes its device; the agent's TAP stays (persistent).
    for (const r of vm?.readers ?? []) addon.stopReader(r);
    return vm !== undefined;
  };

  const attach = async (c: AttachCommand) => {
    detach(c.tap);
    const host = addon.openTap(c.tap, false, false);
    let guest: { fd: number; ifname: string } | undefined;
    try {
      guest = addon.openTap(TEMP_IFNAME, false, false);
      await moveLinkToNetns(guest.ifname, c.netns);
      await configureLink({ ifname: GUEST_IFNAME, renameFrom: guest.ifname, netns: c.netns, mac: c.mac, mtu: c.mtu, cidr: c.cidr, noIpv6: true });
      if (c.gateway) await ip(['route', 'replace', 'default', 'via', c.gateway], c.netns);
    } catch (err) {
      addon.closeFd(host.fd);
      if (guest) addon.closeFd(guest.fd);
      throw err;
    }
    const g = guest;
    const copy = (to: number) => (frames: Buffer[]) => {
      for (const f of frames) addon.write(to, f);
    };
    const gone = (side: string) => (err: Error) => process.stderr.write(`${c.tap}: ${side} side failed: ${err.message}\n`);
    vms.set(c.tap, { readers: [addon.startReader(host.fd, copy(g.fd), gone('host')), addon.startReader(g.fd, copy(host.fd), gone('guest'))] });
  };

  const rl = createInterface({ input: process.stdin });
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  for await (const line of rl) {
    if (!line.trim()) continue;
    let cmd: HypervisorCommand | undefined;
    try {
      cmd = JSON.parse(line) as HypervisorCommand;
      if (cmd.op === 'attach') await attach(cmd);
      else if (cmd.op === 'detach') detach(cmd.tap);
      else throw new Error(`unknown op ${JSON.stringify((cmd as { op: unknown }).op)}`);
      process.stdout.write(`${JSON.stringify({ id: cmd.id, ok: true })}\n`);
    } catch (err) {
      process.stdout.write(`${JSON.stringify({ id: cmd?.id ?? null, ok: false, error: (err as Error).message })}\n`);
    }
  }
  for (const tap of [...vms.keys()]) detach(tap);
}

await main();
