// Every decoder in this folder throws only WireError, so a receive loop can
// count a malformed datagram by `code` and carry on (never crash on input).

export type WireErrorCode =
  | 'TRUNCATED' // fewer bytes than the fixed part of the header needs
  | 'BAD_LENGTH' // a length field (or the datagram length) disagrees with the layout
  | 'BAD_KIND' // common header kind, or an unsupported message type
  | 'BAD_OPCODE' // VARP opcode, ARP operation
  | 'BAD_VERSION' // Etherip version nibble, IPv4 version
  | 'BAD_VNET' // vnet id 0 (invalid) or 1 (physical network) where a virtual one is required
  | 'RESERVED_NONZERO' // a reserved field that must be zero is not
  | 'BAD_CHECKSUM' // IPv4 header, ICMP or UDP checksum does not verify
  | 'BAD_FLAGS' // unknown flag bits, or a flag combination the spec forbids
  | 'BAD_AUTH' // VARP HMAC trailer missing or wrong while a key is configured
  | 'BAD_HOPS' // RELAY hop count out of range
  | 'BAD_HEADER' // any other inconsistent header field (ARP hardware type, IPv4 IHL, ...)
  | 'BAD_ADDRESS'; // MAC/IPv4 text that does not parse, or an address not allowed in that field

export class WireError extends Error {
  readonly code: WireErrorCode;

  constructor(code: WireErrorCode, message: string) {
    super(message);
    this.name = 'WireError';
    this.code = code;
  }
}

/** Throws TRUNCATED unless `buf` holds at least `min` bytes. */
export function need(buf: Buffer, min: number, what: string): void {
  if (buf.length < min) {
    throw new WireError('TRUNCATED', `${what}: ${buf.length} bytes, need at least ${min}`);
  }
}
