// Dispatch on the spec's 4-byte common header.
import { COMMON_HEADER_LEN, KIND_FRAME, KIND_RELAY, KIND_VARP } from './constants.ts';
import { WireError, need } from './errors.ts';

export type Kind = typeof KIND_VARP | typeof KIND_FRAME | typeof KIND_RELAY;

/** The datagram's kind; TRUNCATED under 4 bytes, BAD_KIND for any other value (spec: drop and count). */
export function peekKind(buf: Buffer): Kind {
  need(buf, COMMON_HEADER_LEN, 'common header');
  const kind = buf.readUInt16BE(0);
  if (kind !== KIND_VARP && kind !== KIND_FRAME && kind !== KIND_RELAY) {
    throw new WireError('BAD_KIND', `kind ${kind}`);
  }
  return kind;
}
