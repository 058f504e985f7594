import { execFileSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import forge from 'node-forge';
import { assertKeyStrength, generateEcKeyPair, issueCertificate, parseAndVerifyCsr } from './x509';

const caName = [{ shortName: 'CN', value: 'Test CA' }];
function makeCa() {
  const { privateKey, publicKey } = generateEcKeyPair();
  const now = Date.now();
  const cert = issueCertificate({
    subject: caName, issuer: caName, subjectPublicKey: publicKey, issuerKey: privateKey, issuerPublicKey: publicKey,
    notBefore: new Date(now - 1000), notAfter: new Date(now + 86_400_000),
    extensions: [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, critical: true }],
  });
  return { privateKey, publicKey, pem: cert.pem };
}

function rsaCsrPem(commonName: string, bits = 2048): string {
  const keys = forge.pki.rsa.generateKeyPair(bits);
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = keys.publicKey;
  csr.setSubject([{ shortName: 'CN', value: commonName }]);
  csr.sign(keys.privateKey, forge.md.sha256.create());
  return forge.pki.certificationRequestToPem(csr);
}

function ecCsrPem(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'csr-'));
  const { privateKey } = generateEcKeyPair();
  writeFileSync(path.join(dir, 'key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  return execFileSync('openssl', ['req', '-new', '-key', path.join(dir, 'key.pem'), '-subj', '/CN=ec-product'], { encoding: 'utf8' });
}

describe('X.509 certificates built by forge and signed natively', () => {
  test('When a leaf is issued for an RSA and an EC key, then openssl verify accepts both against the CA', () => {
    const ca = makeCa();
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const ec = generateEcKeyPair().publicKey;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'x509-'));
    writeFileSync(path.join(dir, 'ca.pem'), ca.pem);
    for (const [name, key] of [['rsa', rsa], ['ec', ec]] as const) {
      const leaf = issueCertificate({
        subject: [{ shortName: 'CN', value: `UDI_PID:C9300 UDI_SN:${name}` }], issuer: caName, subjectPublicKey: key,
        issuerKey: ca.privateKey, issuerPublicKey: ca.publicKey, notBefore: new Date(), notAfter: new Date(Date.now() + 3_600_000),
        extensions: [{ name: 'extKeyUsage', clientAuth: true }],
      });
      writeFileSync(path.join(dir, `${name}.pem`), leaf.pem);
      expect(execFileSync('openssl', ['verify', '-CAfile', path.join(dir, 'ca.pem'), path.join(dir, `${name}.pem`)], { encoding: 'utf8' })).toContain(': OK');
      const parsed = new X509Certificate(leaf.pem);
      expect(parsed.subject).toContain(`UDI_SN:${name}`);
      expect(parsed.serialNumber.toLowerCase()).toBe(leaf.serialHex);
      expect(parsed.publicKey.export({ type: 'spki', format: 'der' })).toEqual(key.export({ type: 'spki', format: 'der' }));
    }
  });

  test('When two certificates are issued, then their serials differ', () => {
    const ca = makeCa();
    const issue = () => issueCertificate({
      subject: caName, issuer: caName, subjectPublicKey: ca.publicKey, issuerKey: ca.privateKey, issuerPublicKey: ca.publicKey,
      notBefore: new Date(), notAfter: new Date(Date.now() + 1000), extensions: [],
    });
    expect(issue().serialHex).not.toBe(issue().serialHex);
  });
});

describe('CSR parsing and verification', () => {
  test('When an RSA CSR made by forge is parsed, then its key and subject come out', () => {
    const csr = parseAndVerifyCsr(rsaCsrPem('rsa-product'));
    expect(csr.publicKey.asymmetricKeyType).toBe('rsa');
    expect(csr.subject.commonName).toBe('rsa-product');
  });

  test('When an EC CSR made by openssl is parsed, then it verifies', () => {
    const csr = parseAndVerifyCsr(ecCsrPem());
    expect(csr.publicKey.asymmetricKeyType).toBe('ec');
    expect(csr.subject.commonName).toBe('ec-product');
  });

  test('When RSA and EC keys are imported from their numbers, then each is the key the request carries, byte for byte', () => {
    for (const pem of [rsaCsrPem('numbers'), ecCsrPem()]) {
      const csr = parseAndVerifyCsr(pem);
      expect(csr.publicKey.export({ type: 'spki', format: 'der' })).toEqual(csr.spki);
      expect(csr.publicKey.equals(createPublicKey({ key: csr.spki, format: 'der', type: 'spki' }))).toBe(true);
    }
  });

  test('When the CSR is tampered with, then it fails with BAD_SIGNATURE', () => {
    const pem = rsaCsrPem('tamper');
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const idx = der.indexOf(Buffer.from('tamper'));
    der[idx] = 'T'.charCodeAt(0);
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    expect(() => parseAndVerifyCsr(tampered)).toThrow(expect.objectContaining({ code: 'BAD_SIGNATURE' }));
  });

  test('When the CSR is garbage, then it fails with INVALID_MESSAGE', () => {
    expect(() => parseAndVerifyCsr('hello')).toThrow(expect.objectContaining({ code: 'INVALID_MESSAGE' }));
    expect(() => parseAndVerifyCsr('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----')).toThrow(
      expect.objectContaining({ code: 'INVALID_MESSAGE' }),
    );
  });

  test('When the key is a weak 1024-bit RSA key, then it is refused with INVALID_MESSAGE', () => {
    expect(() => parseAndVerifyCsr(rsaCsrPem('weak', 1024))).toThrow(expect.objectContaining({ code: 'INVALID_MESSAGE' }));
  });

  test('When an RSA key has an exponent other than 65537 or a modulus outside 2048-4096 bits, then it is refused before any signature check', () => {
    // Public keys built from numbers: no primes needed, and nothing here is ever verified with.
    const rsa = (bits: number, e: Buffer) => {
      const n = randomBytes(bits / 8);
      n[0] |= 0x80;
      n[n.length - 1] |= 1;
      return createPublicKey({ key: { kty: 'RSA', n: n.toString('base64url'), e: e.toString('base64url') }, format: 'jwk' });
    };
    const f4 = Buffer.from([1, 0, 1]);
    const huge = randomBytes(384);
    huge[0] |= 0x80;
    huge[huge.length - 1] |= 1;
    expect(() => assertKeyStrength(rsa(2048, f4))).not.toThrow();
    expect(() => assertKeyStrength(rsa(4096, f4))).not.toThrow();
    for (const weakOrCostly of [rsa(2048, Buffer.from([3])), rsa(3072, huge), rsa(4104, f4), rsa(8192, f4), rsa(2040, f4)]) {
      expect(() => assertKeyStrength(weakOrCostly)).toThrow(expect.objectContaining({ code: 'INVALID_MESSAGE' }));
    }
  });
});
