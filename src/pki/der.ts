/**
 * DER (X.690) for the few fixed structures built by hand where forge would cost too much (the ID
 * certificate of every registration) or cannot encode the key (the simulator's CSRs).
 */

/** One tag-length-value; contents up to 64 KiB. */
export function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  const length = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, body]);
}

export const SEQUENCE = 0x30;
export const SET = 0x31;
// Pre-encoded: the commonName OBJECT IDENTIFIER and the ecdsa-with-SHA256 AlgorithmIdentifier (no parameters, RFC 5758).
export const OID_COMMON_NAME = Buffer.from('0603550403', 'hex');
export const ECDSA_SHA256 = tlv(SEQUENCE, Buffer.from('06082a8648ce3d040302', 'hex'));

/** A Name with one attribute, CN = `commonName` (UTF8String). */
export const commonNameDn = (commonName: string) =>
  tlv(SEQUENCE, tlv(SET, tlv(SEQUENCE, OID_COMMON_NAME, tlv(0x0c, Buffer.from(commonName, 'utf8')))));

/** The elements inside a constructed DER value (its whole encodings, in order). */
export function elements(der: Buffer): Buffer[] {
  const header = (at: number) => {
    const first = der[at + 1];
    if (first < 0x80) return { start: at + 2, length: first };
    const bytes = first & 0x7f;
    return { start: at + 2 + bytes, length: der.subarray(at + 2, at + 2 + bytes).reduce((n, b) => n * 256 + b, 0) };
  };
  const outer = header(0);
  const found: Buffer[] = [];
  for (let at = outer.start; at < outer.start + outer.length;) {
    const { start, length } = header(at);
    found.push(der.subarray(at, start + length));
    at = start + length;
  }
  return found;
}
