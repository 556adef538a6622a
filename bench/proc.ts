// What a benchmark reads of another process from /proc (Linux): CPU time and resident memory.
import { readFileSync } from 'node:fs';

const CLK_TCK = 100; // USER_HZ on Linux

/** utime + stime of a process so far, in ms (/proc/<pid>/stat fields 14 and 15, after the command name). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/** Resident memory of a process in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) * 1024;
}
