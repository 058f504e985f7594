import type { X509Certificate } from 'node:crypto';
import forge from 'node-forge';

/**
 * The extended key usage that marks the server's response-signing certificate. The CA also issues
 * every product's ID certificate, so a chain to the CA alone does not tell the server's signature
 * from another product's: a product requires this purpose in the certificate that signed an answer.
 * The OID is a UUID arc (ITU-T X.667, 2.25.<uuid as an integer>): unique without a registration.
 */
export const RESPONSE_SIGNING_EKU = '2.25.262165157263307182894444027065117594902';

const { asn1 } = forge;

// forge's OID encoder works on JavaScript numbers, which cannot hold a UUID arc: encoded by hand.
function oidDer(oid: string): string {
  const arcs = oid.split('.').map(BigInt);
  const bytes: number[] = [];
  for (const arc of [arcs[0] * 40n + arcs[1], ...arcs.slice(2)]) {
    const groups = [Number(arc & 0x7fn)];
    for (let rest = arc >> 7n; rest > 0n; rest >>= 7n) groups.unshift(Number(rest & 0x7fn) | 0x80);
    bytes.push(...groups);
  }
  return String.fromCharCode(...bytes);
}

/** The extKeyUsage extension (forge form) holding only RESPONSE_SIGNING_EKU. */
export function responseSigningEkuExtension(): object {
  return {
    id: '2.5.29.37',
    value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, oidDer(RESPONSE_SIGNING_EKU)),
    ]),
  };
}

export function isResponseSigningCertificate(cert: X509Certificate): boolean {
  return (cert.keyUsage ?? []).includes(RESPONSE_SIGNING_EKU);
}
