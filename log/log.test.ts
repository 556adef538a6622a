// The one logger: JSON lines, levels, child fields, and secrets redacted
// whether they come as fields, nested fields or text shaped like a secret.
import { describe, expect, it } from 'vitest';
import { createLogger, type LogLevel } from './index.ts';

function capture(level: LogLevel = 'debug') {
  const lines: string[] = [];
  const logger = createLogger({ level, write: (l) => void lines.push(l) });
  return { logger, lines, entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('logger', () => {
  it('writes one JSON object per line with level, time, fields and message', () => {
    const { logger, lines, entries } = capture();
    logger.child({ component: 'varp' }).warn('cache full', { vnet: 7, size: 10n });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    const e = entries()[0]!;
    expect(e).toMatchObject({ level: 'warn', msg: 'cache full', component: 'varp', vnet: 7, size: '10' });
    expect(new Date(e.time as string).toISOString()).toBe(e.time);
  });

  it('drops lines below its level', () => {
    const { logger, entries } = capture('warn');
    logger.debug('a');
    logger.info('b');
    logger.error('c');
    expect(entries().map((e) => e.msg)).toEqual(['c']);
    expect(logger.level).toBe('warn');
  });

  it('keeps the name, message and code of an error', () => {
    const { logger, entries } = capture();
    logger.error('bind failed', { error: Object.assign(new Error('address in use'), { code: 'EADDRINUSE' }) });
    expect(entries()[0]!.error).toEqual({ name: 'Error', message: 'address in use', code: 'EADDRINUSE' });
  });

  it('redacts secrets passed in a log object, at any of the first three levels', () => {
    const { logger, lines, entries } = capture();
    const secrets = {
      token: 'sude_enrolltoken123',
      password: 'hunter2-hunter2',
      key: 'c2VhbGVkLXZuZXQta2V5',
      cookie: 'softudc_session=abc123def',
      authorization: 'Bearer plain-bearer-value',
      request: { headers: { authorization: 'Bearer nested-bearer-value', cookie: 'nested-cookie-value' } },
      varp: { privateKey: 'private-key-value', secret: 'another-secret-value' },
    };
    logger.info('enrolling', { host: 'h1', ...secrets });
    logger.child({ credential: 'sudh_childcredential' }).warn('child line');
    const text = lines.join('');
    for (const s of ['sude_enrolltoken123', 'hunter2-hunter2', 'c2VhbGVkLXZuZXQta2V5', 'abc123def', 'plain-bearer-value', 'nested-bearer-value',
      'nested-cookie-value', 'private-key-value', 'another-secret-value', 'sudh_childcredential']) {
      expect(text).not.toContain(s);
    }
    const [first, second] = entries();
    expect(first).toMatchObject({ host: 'h1', token: '[redacted]', password: '[redacted]', key: '[redacted]', cookie: '[redacted]' });
    expect(first!.request).toEqual({ headers: { authorization: '[redacted]', cookie: '[redacted]' } });
    expect(second!.credential).toBe('[redacted]');
  });

  it('masks text shaped like a secret in the message and in text fields', () => {
    const { logger, lines } = capture();
    logger.error('insert failed for sudc_apitoken999 at postgresql://u:pw@db/x', { cause: 'hash scrypt$16384$8$1$abc$def', error: new Error('bad sudh_hostcred') });
    const text = lines.join('');
    for (const s of ['sudc_apitoken999', ':pw@', 'scrypt$', 'sudh_hostcred']) expect(text).not.toContain(s);
    expect(text).toContain('postgresql://u:[redacted]@db/x');
  });
});
