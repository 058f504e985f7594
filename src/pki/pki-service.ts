import { mkdirSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { createPublicKey, KeyObject, X509Certificate } from 'node:crypto';
import type { Db } from '../store/database';
import { KeyVault } from './key-vault';
import { DnAttribute, generateEcKeyPair, issueCertificate } from './x509';

const DAY_MS = 86_400_000;
export const CA_NAME: DnAttribute[] = [
  { shortName: 'O', value: 'slm-onprem' },
  { shortName: 'CN', value: 'slm-onprem Root CA' },
];

export type Credential = { key: KeyObject; certPem: string; publicKey: KeyObject };
type Clock = () => Date;

/**
 * The server's keys and certificates, kept in the database (so every node of a cluster shares
 * them) with private keys sealed by the KEK. Created on first use, idempotently: two nodes
 * starting at once on one database end up with the same CA.
 */
export class PkiService {
  private cache = new Map<string, Credential>();

  constructor(
    private readonly db: Db,
    private readonly vault: KeyVault,
    private readonly clock: Clock = () => new Date(),
  ) {}

  async ca(): Promise<Credential> {
    return this.ensure('ca', () => {
      const { privateKey, publicKey } = generateEcKeyPair();
      const now = this.clock();
      const cert = issueCertificate({
        subject: CA_NAME,
        issuer: CA_NAME,
        subjectPublicKey: publicKey,
        issuerKey: privateKey,
        issuerPublicKey: publicKey,
        notBefore: new Date(now.getTime() - DAY_MS),
        notAfter: new Date(now.getTime() + 20 * 365 * DAY_MS),
        extensions: [
          { name: 'basicConstraints', cA: true, critical: true },
          { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
        ],
      });
      return { privateKey, certPem: cert.pem };
    });
  }

  /** Signs product-protocol responses; its chain goes into the JWS `x5c` header. */
  async responseSigner(): Promise<Credential> {
    const ca = await this.ca();
    return this.ensure('response-signing', () =>
      this.issueLeaf(ca, [{ shortName: 'CN', value: 'slm-onprem response signing' }], 5 * 365, [
        { name: 'keyUsage', digitalSignature: true, critical: true },
      ]),
    );
  }

  /** Signs the server's own JWTs (admin sessions, registration tokens, API access tokens). */
  async jwtKey(): Promise<Credential> {
    return this.ensure('jwt-signing', () => ({ privateKey: generateEcKeyPair().privateKey, certPem: null }));
  }

  async tlsCredential(hostCommonName: string): Promise<Credential> {
    const ca = await this.ca();
    const current = await this.ensure('tls', () => this.issueTls(ca, hostCommonName));
    if (certificateNames(current.certPem).includes(hostCommonName)) return current;
    return this.replaceTls(hostCommonName);
  }

  /**
   * Issues a new TLS certificate for the name and stores it in place of the previous one.
   * Inside a transaction (`tx`), the caller calls invalidate() if it rolls back.
   */
  async replaceTls(hostCommonName: string, tx: Pick<Db, 'keyMaterial'> = this.db): Promise<Credential> {
    const ca = await this.ca();
    const { privateKey, certPem } = this.issueTls(ca, hostCommonName);
    await tx.keyMaterial.update({
      where: { name: 'tls' },
      data: { certPem, keyEncrypted: this.vault.seal(privateKey) },
    });
    const credential = { key: privateKey, certPem, publicKey: createPublicKey(privateKey) };
    this.cache.set('tls', credential);
    return credential;
  }

  /** Writes the CA and server certificates (never keys) for inspection with openssl. */
  async writeCertificates(dir: string, hostCommonName: string): Promise<void> {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'ca.pem'), (await this.ca()).certPem);
    writeFileSync(path.join(dir, 'server.pem'), (await this.tlsCredential(hostCommonName)).certPem);
  }

  /** Forgets cached material, e.g. after another node changed it in the shared database. */
  invalidate(): void {
    this.cache.clear();
  }

  private issueTls(ca: Credential, hostCommonName: string) {
    const altName = isIP(hostCommonName)
      ? { type: 7, ip: hostCommonName }
      : { type: 2, value: hostCommonName };
    return this.issueLeaf(ca, [{ shortName: 'CN', value: hostCommonName }], 397, [
      // EC key: ECDHE key agreement is signed, never key transport, so keyEncipherment does not apply.
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [altName] },
    ]);
  }

  private issueLeaf(ca: Credential, subject: DnAttribute[], days: number, extensions: object[]) {
    const { privateKey, publicKey } = generateEcKeyPair();
    const now = this.clock();
    const cert = issueCertificate({
      subject,
      issuer: CA_NAME,
      subjectPublicKey: publicKey,
      issuerKey: ca.key,
      issuerPublicKey: ca.publicKey,
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + days * DAY_MS),
      extensions: [{ name: 'basicConstraints', cA: false }, ...extensions],
    });
    return { privateKey, certPem: cert.pem };
  }

  private async ensure(
    name: string,
    create: () => { privateKey: KeyObject; certPem: string | null },
  ): Promise<Credential> {
    const cached = this.cache.get(name);
    if (cached) return cached;
    let row = await this.db.keyMaterial.findUnique({ where: { name } });
    if (!row) {
      const made = create();
      await this.db.keyMaterial.createMany({
        data: [{ name, certPem: made.certPem, keyEncrypted: this.vault.seal(made.privateKey) }],
        skipDuplicates: true,
      });
      row = await this.db.keyMaterial.findUniqueOrThrow({ where: { name } });
    }
    const key = this.vault.open(row.keyEncrypted);
    const credential = { key, certPem: row.certPem ?? '', publicKey: createPublicKey(key) };
    this.cache.set(name, credential);
    return credential;
  }
}

/** The DNS names and IP addresses a certificate is valid for (CN and SAN). */
export function certificateNames(certPem: string): string[] {
  const cert = new X509Certificate(certPem);
  const san = (cert.subjectAltName ?? '')
    .split(', ')
    .map((entry) => (entry.startsWith('IP Address:') ? canonicalIp(entry.slice('IP Address:'.length)) : entry.replace(/^DNS:/, '')))
    .filter(Boolean);
  return san;
}

// OpenSSL prints IPv6 SANs uncompressed and in upper case (FD00:0:0:0:0:0:0:1); names are compared
// in the RFC 5952 form (fd00::1), which is what the WHATWG URL serializer produces.
function canonicalIp(address: string): string {
  return isIP(address) === 6 ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address;
}
