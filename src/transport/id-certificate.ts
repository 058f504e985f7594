import type { KeyObject } from 'node:crypto';
import { CA_NAME, type Credential } from '../pki/pki-service';
import { issueCertificate, type IssuedCertificate } from '../pki/x509';
import { udiSubject } from './messages';

const DAY_MS = 86_400_000;
export const ID_CERTIFICATE_DAYS = 365;
/** Backdated so a product whose clock runs a little behind accepts its new certificate at once. */
const BACKDATE_MS = 5 * 60_000;

/** The product's ID certificate: CN `UDI_PID:<pid> UDI_SN:<sn>`, client authentication, one year. */
export function issueIdCertificate(ca: Credential, publicKey: KeyObject, udi: { pid: string; sn: string }, now: Date): IssuedCertificate {
  return issueCertificate({
    subject: [{ shortName: 'CN', value: udiSubject(udi) }],
    issuer: CA_NAME,
    subjectPublicKey: publicKey,
    issuerKey: ca.key,
    issuerPublicKey: ca.publicKey,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + ID_CERTIFICATE_DAYS * DAY_MS),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', clientAuth: true },
    ],
  });
}
