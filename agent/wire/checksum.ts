// RFC 1071 Internet checksum, and the RFC 1624 incremental update a router
// uses when it changes one 16-bit word (the TTL) of an IPv4 header.

/** Ones'-complement sum of [start, end) as 16-bit big-endian words, added to `initial`, not folded. */
export function onesSum(buf: Buffer, start = 0, end = buf.length, initial = 0): number {
  let sum = initial;
  let i = start;
  const last = end - 1;
  for (; i < last; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i === last) sum += buf[i]! << 8; // odd length: pad with a zero byte
  return sum;
}

export function foldSum(sum: number): number {
  // Sums of Buffers up to 64 KiB stay far below 2^53; fold the carries twice.
  sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  sum = (sum & 0xffff) + (sum >>> 16);
  return (sum & 0xffff) + (sum >>> 16);
}

/**
 * The value for a checksum field over [start, end): ones' complement of the
 * ones'-complement sum. `initial` is a partial sum (e.g. a pseudo-header) from
 * onesSum. Over a region that already holds a correct checksum it returns 0.
 */
export function internetChecksum(buf: Buffer, start = 0, end = buf.length, initial = 0): number {
  return ~foldSum(onesSum(buf, start, end, initial)) & 0xffff;
}

/** RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for one 16-bit word m changed to m'. */
export function updateChecksum(checksum: number, oldWord: number, newWord: number): number {
  const sum = (~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  return ~foldSum(sum) & 0xffff;
}
