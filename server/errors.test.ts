// Domain errors name their field once: "burstKb: needs bandwidthMbps …", never "burstKb: burstKb: …".
import { describe, expect, it } from 'vitest';
import { badRequest, conflict } from './errors.ts';

describe('domain errors', () => {
  it('prefix the message with its field', () => {
    expect(badRequest('name', 'must not be empty').message).toBe('name: must not be empty');
    expect(conflict('name', 'already taken').message).toBe('name: already taken');
  });

  it('do not prefix a message that already names its field a second time', () => {
    expect(badRequest('burstKb', 'burstKb: needs bandwidthMbps').message).toBe('burstKb: needs bandwidthMbps');
    expect(conflict('id', 'id: a key rotation is in progress').message).toBe('id: a key rotation is in progress');
    expect(badRequest('id', 'idle: x').message).toBe('id: idle: x');
  });
});
