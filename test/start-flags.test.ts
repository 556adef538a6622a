// `npm start` (scripts/start.mjs) refuses what it does not understand before
// it touches the database or starts anything: a clear message and exit 2.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const start = (...argv: string[]) => spawnSync(process.execPath, ['scripts/start.mjs', ...argv], { encoding: 'utf8', timeout: 30_000 });

describe('npm start flags', () => {
  it.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['--no-agnets'], /Unknown option '--no-agnets'/],
    [['--port'], /'--port <value>' argument missing/],
    [['--port', '70000'], /--port: expected a TCP port, 1–65535 \(got "70000"\)/],
    [['stray'], /Unexpected argument 'stray'/],
  ])('%j: refused with a message and exit code 2', (argv, message) => {
    const r = start(...argv);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).not.toContain('SoftUDC console on');
  });

  it('--help prints the usage and exits 0', () => {
    const r = start('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm start -- \[--dev\] \[--port N\]/);
  });
});
