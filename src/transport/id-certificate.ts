import { createHash, sign, X509Certificate } from 'node:crypto';
import type { Credential } from '../pki/pki-service';
import { commonNameDn, ECDSA_SHA256, elements, SEQUENCE, tlv } from '../pki/der';
import { derToPem, randomSerialHex, type IssuedCertificate } from '../pki/x509';
import { udiSubject } from './messages';

const DAY_MS = 86_400_000;
export const ID_CERTIFICATE_DAYS = 365;
/** Backdated so a product whose clock runs a little behind accepts its new certificate at once. */
const BACKDATE_MS = 5 * 60_000;

// The fixed extensions (RFC 5280 4.2): basicConstraints (not a CA), keyUsage digitalSignature
// (critical), extKeyUsage clientAuth; key identifiers are added per certificate.
const extension = (oidHex: string, value: Buffer, critical = false) =>
  tlv(SEQUENCE, Buffer.from(oidHex, 'hex'), ...(critical ? [Buffer.from('0101ff', 'hex')] : []), tlv(0x04, value));
const FIXED_EXTENSIONS = [
  extension('0603551d13', tlv(SEQUENCE)),
  extension('0603551d0f', Buffer.from('03020780', 'hex'), true),
  extension('0603551d25', tlv(SEQUENCE, Buffer.from('06082b06010505070302', 'hex'))),
];
const sha1 = (der: Buffer) => createHash('sha1').update(der).digest();

/** What every ID certificate takes from the CA: its subject (our issuer, byte for byte) and key identifier. */
type Issuer = { name: Buffer; authorityKeyId: Buffer };
const issuers = new WeakMap<Credential, Issuer>();
function issuerOf(ca: Credential): Issuer {
  let issuer = issuers.get(ca);
  if (!issuer) {
    const tbs = elements(new X509Certificate(ca.certPem).raw)[0];
    // TBSCertificate: [0] version, serial, signature, issuer, validity, subject, ...
    const subject = elements(tbs)[5];
    const authorityKeyId = extension('0603551d23', tlv(SEQUENCE, tlv(0x80, sha1(ca.publicKey.export({ type: 'spki', format: 'der' }) as Buffer))));
    issuers.set(ca, (issuer = { name: subject, authorityKeyId }));
  }
  return issuer;
}

/** UTCTime through 2049, GeneralizedTime after (RFC 5280 4.1.2.5). */
function time(date: Date): Buffer {
  const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`));
}

/**
 * The product's ID certificate: CN `UDI_PID:<pid> UDI_SN:<sn>`, client authentication, one year,
 * signed by the CA (ECDSA P-256, SHA-256). Encoded by hand: every registration issues one, and
 * building it with forge cost several times the signature. `spki`: the product key's
 * SubjectPublicKeyInfo (DER), as its request carried it.
 */
export function issueIdCertificate(ca: Credential, spki: Buffer, udi: { pid: string; sn: string }, now: Date): IssuedCertificate {
  const issuer = issuerOf(ca);
  const serialHex = randomSerialHex();
  const notAfter = new Date(now.getTime() + ID_CERTIFICATE_DAYS * DAY_MS);
  const tbs = tlv(
    SEQUENCE,
    Buffer.from('a003020102', 'hex'), // version 3
    tlv(0x02, Buffer.from(serialHex, 'hex')),
    ECDSA_SHA256,
    issuer.name,
    tlv(SEQUENCE, time(new Date(now.getTime() - BACKDATE_MS)), time(notAfter)),
    commonNameDn(udiSubject(udi)),
    spki,
    tlv(0xa3, tlv(SEQUENCE, ...FIXED_EXTENSIONS, extension('0603551d0e', tlv(0x04, sha1(spki))), issuer.authorityKeyId)),
  );
  const signature = sign('sha256', tbs, ca.key);
  const der = tlv(SEQUENCE, tbs, ECDSA_SHA256, tlv(0x03, Buffer.from([0]), signature));
  return { pem: derToPem(der, 'CERTIFICATE'), serialHex, notAfter };
}
