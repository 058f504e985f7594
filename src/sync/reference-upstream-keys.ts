/**
 * TEST AND DEMO FIXTURE: the keys of the reference upstream. A CA of its own (it issues the
 * fixture's HTTPS certificate and signs the server's CA certificate) and a response-signing key
 * (what an admin installs with `slm upstream-key install`). Kept in a directory so that
 * `slm upstream` and `slm upstream answer` sign with the same key across runs.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { generateEcKeyPair, issueCertificate, type DnAttribute } from '../pki/x509';

const DAY_MS = 86_400_000;
export const UPSTREAM_CA: DnAttribute[] = [
  { shortName: 'O', value: 'Reference Upstream (test fixture)' },
  { shortName: 'CN', value: 'Reference Upstream Root CA' },
];

export type UpstreamKeys = { caKey: KeyObject; caCertPem: string; signingKey: KeyObject };

/** File names in the key directory; the two public ones are what the walkthrough hands to the server. */
export const KEY_FILES = { caKey: 'ca-key.pem', caCert: 'ca.pem', signingKey: 'signing-key.pem', signingPublicKey: 'signing-key.pub.pem' };

export function generateUpstreamKeys(now = new Date()): UpstreamKeys {
  const ca = generateEcKeyPair();
  const caCertPem = issueCertificate({
    subject: UPSTREAM_CA,
    issuer: UPSTREAM_CA,
    subjectPublicKey: ca.publicKey,
    issuerKey: ca.privateKey,
    issuerPublicKey: ca.publicKey,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + 10 * 365 * DAY_MS),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  }).pem;
  return { caKey: ca.privateKey, caCertPem, signingKey: generateEcKeyPair().privateKey };
}

export const signingPublicKeyPem = (keys: UpstreamKeys) => createPublicKey(keys.signingKey).export({ type: 'spki', format: 'pem' }) as string;

/** The keys in `dir`, created there (private files 0600, directory 0700) on first use. */
export function loadOrCreateUpstreamKeys(dir: string): UpstreamKeys {
  const file = (name: keyof typeof KEY_FILES) => path.join(dir, KEY_FILES[name]);
  if (existsSync(file('signingKey'))) {
    return {
      caKey: createPrivateKey(readFileSync(file('caKey'), 'utf8')),
      caCertPem: readFileSync(file('caCert'), 'utf8'),
      signingKey: createPrivateKey(readFileSync(file('signingKey'), 'utf8')),
    };
  }
  const keys = generateUpstreamKeys();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const secret = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'pem' }) as string;
  writeFileSync(file('caKey'), secret(keys.caKey), { mode: 0o600 });
  writeFileSync(file('caCert'), keys.caCertPem);
  writeFileSync(file('signingPublicKey'), signingPublicKeyPem(keys));
  writeFileSync(file('signingKey'), secret(keys.signingKey), { mode: 0o600 }); // last: its presence means "complete"
  return keys;
}

/** A fresh HTTPS certificate for the fixture's listener: loopback names plus `host`. */
export function issueTlsCertificate(keys: UpstreamKeys, host: string, now = new Date()): { key: string; cert: string } {
  const tls = generateEcKeyPair();
  const names = new Set(['localhost', '127.0.0.1', '::1', host]);
  const altNames = [...names]
    .filter((n) => n !== '0.0.0.0' && n !== '::')
    .map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n }));
  const cert = issueCertificate({
    subject: [{ shortName: 'CN', value: host }],
    issuer: UPSTREAM_CA,
    subjectPublicKey: tls.publicKey,
    issuerKey: keys.caKey,
    issuerPublicKey: createPublicKey(keys.caKey),
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + 30 * DAY_MS),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  }).pem;
  return { key: tls.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, cert };
}
