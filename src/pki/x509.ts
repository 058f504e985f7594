import { createHash, createPublicKey, generateKeyPairSync, KeyObject, randomBytes, sign, verify } from 'node:crypto';
import forge from 'node-forge';
import { badRequest, unauthorized } from '../errors';

/**
 * X.509 with node-forge for the structures and Node's native crypto for keys and signatures.
 * forge only encodes RSA public keys, so the subject's SubjectPublicKeyInfo is spliced into the
 * TBSCertificate as raw DER: any key type Node understands (RSA, P-256) can be certified.
 */

const { asn1 } = forge;
const OID_ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const SIGNATURE_HASHES: Record<string, string> = {
  '1.2.840.113549.1.1.11': 'sha256', // sha256WithRSAEncryption
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.3.2': 'sha256', // ecdsa-with-SHA256
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};

export type DnAttribute = { shortName?: string; name?: string; value: string };
export type CertificateRequest = {
  subject: DnAttribute[];
  issuer: DnAttribute[];
  subjectPublicKey: KeyObject;
  issuerKey: KeyObject;
  issuerPublicKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  extensions: object[];
  serialHex?: string;
};
export type IssuedCertificate = { pem: string; serialHex: string; notAfter: Date };

export function generateEcKeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

export function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] &= 0x7f; // positive INTEGER
  bytes[0] |= 0x10; // no leading zero byte to strip
  return bytes.toString('hex');
}

const spkiDer = (key: KeyObject) => key.export({ type: 'spki', format: 'der' }) as Buffer;
const sha1 = (der: Buffer) => createHash('sha1').update(der).digest();
export const keyIdentifier = (key: KeyObject) => sha1(spkiDer(key));
// The issuer (the CA) is the same for every certificate: its identifier is computed once per key.
const issuerIdentifiers = new WeakMap<KeyObject, Buffer>();
function issuerIdentifier(key: KeyObject): Buffer {
  let id = issuerIdentifiers.get(key);
  if (!id) issuerIdentifiers.set(key, (id = keyIdentifier(key)));
  return id;
}
// forge's typings omit the options argument; without decodeBitStrings: false, forge re-encodes an EC
// key's BIT STRING differently from the signed bytes and signatures stop verifying.
const fromDer = (bytes: string) =>
  (asn1.fromDer as unknown as (b: string, o: { decodeBitStrings: boolean }) => forge.asn1.Asn1)(bytes, { decodeBitStrings: false });
const toForgeBytes = (b: Buffer) => b.toString('binary');
const fromForgeBytes = (s: string) => Buffer.from(s, 'binary');

function ecdsaSha256AlgorithmIdentifier() {
  // RFC 5758: ecdsa-with-SHA256 carries no parameters.
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(OID_ECDSA_SHA256).getBytes()),
  ]);
}

type ForgeTbs = { getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1 & { value: forge.asn1.Asn1[] } };

// Stands in for forge's publicKey while it builds the TBSCertificate; replaced by the real SPKI.
const placeholderKey = forge.pki.rsa.setPublicKey(new forge.jsbn.BigInteger('3'), new forge.jsbn.BigInteger('3'));

/** Builds and signs (ECDSA P-256, SHA-256) a certificate; the issuer key must be a P-256 key. */
export function issueCertificate(req: CertificateRequest): IssuedCertificate {
  const serialHex = req.serialHex ?? randomSerialHex();
  const subjectSpki = spkiDer(req.subjectPublicKey);
  const cert = forge.pki.createCertificate();
  cert.serialNumber = serialHex;
  cert.validity.notBefore = req.notBefore;
  cert.validity.notAfter = req.notAfter;
  cert.setSubject(req.subject);
  cert.setIssuer(req.issuer);
  cert.publicKey = placeholderKey;
  cert.siginfo.algorithmOid = OID_ECDSA_SHA256;
  cert.setExtensions([
    ...req.extensions,
    {
      name: 'subjectKeyIdentifier',
      value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, toForgeBytes(sha1(subjectSpki))),
    },
    { name: 'authorityKeyIdentifier', keyIdentifier: toForgeBytes(issuerIdentifier(req.issuerPublicKey)) },
  ]);
  const tbs = (forge.pki as unknown as ForgeTbs).getTBSCertificate(cert);
  tbs.value[2] = ecdsaSha256AlgorithmIdentifier();
  tbs.value[6] = fromDer(toForgeBytes(subjectSpki));
  const tbsDer = fromForgeBytes(asn1.toDer(tbs).getBytes());
  const signature = sign('sha256', tbsDer, req.issuerKey);
  const certificate = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    tbs,
    ecdsaSha256AlgorithmIdentifier(),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, '\x00' + toForgeBytes(signature)),
  ]);
  const der = fromForgeBytes(asn1.toDer(certificate).getBytes());
  return { pem: derToPem(der, 'CERTIFICATE'), serialHex, notAfter: req.notAfter };
}

export function derToPem(der: Buffer, label: string): string {
  const b64 = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

/** `spki`: the request's SubjectPublicKeyInfo, DER: what the certificate carries and the instance keeps. */
export type ParsedCsr = { publicKey: KeyObject; spki: Buffer; subject: Record<string, string> };

const OID_RSA = '1.2.840.113549.1.1.1';
const OID_EC = '1.2.840.10045.2.1';
const OID_P256 = '1.2.840.10045.3.1.7';
const unsigned = (bytes: string) => Buffer.from(bytes.replace(/^\x00+/, ''), 'binary').toString('base64url');

/**
 * The key of a SubjectPublicKeyInfo. RSA and uncompressed P-256 keys are imported from their
 * numbers (JWK): OpenSSL 3 decodes DER through its generic decoders, 120-230 us a key, where
 * building it from the numbers takes 8-60 us; every registration pays this. Anything else is
 * left to OpenSSL's DER decoder.
 */
function publicKeyOf(spkiNode: forge.asn1.Asn1, spki: Buffer): KeyObject {
  const [algorithm, bits] = spkiNode.value as forge.asn1.Asn1[];
  const [oidNode, parameters] = algorithm.value as forge.asn1.Asn1[];
  const oid = asn1.derToOid(oidNode.value as string);
  const key = (bits.value as string).slice(1); // the BIT STRING's unused-bits byte first
  if (oid === OID_RSA) {
    const [n, e] = fromDer(key).value as forge.asn1.Asn1[];
    return createPublicKey({ key: { kty: 'RSA', n: unsigned(n.value as string), e: unsigned(e.value as string) }, format: 'jwk' });
  }
  if (oid === OID_EC && parameters && asn1.derToOid(parameters.value as string) === OID_P256 && key.length === 65 && key[0] === '\x04') {
    const b64 = (from: number) => Buffer.from(key.slice(from, from + 32), 'binary').toString('base64url');
    return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64(1), y: b64(33) }, format: 'jwk' });
  }
  return createPublicKey({ key: spki, format: 'der', type: 'spki' });
}

/** Parses a PEM PKCS#10 request and verifies its self-signature (RSA or ECDSA). */
export function parseAndVerifyCsr(pem: string): ParsedCsr {
  let info: forge.asn1.Asn1;
  let algorithmOid: string;
  let signature: Buffer;
  let publicKey: KeyObject;
  let spki: Buffer;
  let subject: Record<string, string>;
  try {
    const match = /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([\s\S]+?)-----END (?:NEW )?CERTIFICATE REQUEST-----/.exec(pem);
    if (!match) throw new Error('not a PEM certificate request');
    const root = fromDer(toForgeBytes(Buffer.from(match[1].replace(/\s+/g, ''), 'base64')));
    const [infoNode, algNode, sigNode] = root.value as forge.asn1.Asn1[];
    info = infoNode;
    algorithmOid = asn1.derToOid(((algNode.value as forge.asn1.Asn1[])[0].value as string));
    signature = fromForgeBytes((sigNode.value as string).slice(1));
    const [, subjectNode, spkiNode] = info.value as forge.asn1.Asn1[];
    spki = fromForgeBytes(asn1.toDer(spkiNode).getBytes());
    publicKey = publicKeyOf(spkiNode, spki);
    subject = Object.fromEntries(
      (subjectNode.value as forge.asn1.Asn1[]).map((set) => {
        const [oid, value] = ((set.value as forge.asn1.Asn1[])[0].value as forge.asn1.Asn1[]);
        const oidText = asn1.derToOid(oid.value as string);
        return [forge.pki.oids[oidText] ?? oidText, forge.util.decodeUtf8(value.value as string)];
      }),
    );
  } catch (err) {
    throw badRequest('INVALID_MESSAGE', `csr is not a valid PKCS#10 request: ${(err as Error).message}`);
  }
  const hash = SIGNATURE_HASHES[algorithmOid];
  if (!hash) throw badRequest('INVALID_MESSAGE', `csr signature algorithm ${algorithmOid} is not supported`);
  assertKeyStrength(publicKey);
  const infoDer = fromForgeBytes(asn1.toDer(info).getBytes());
  if (!verify(hash, infoDer, publicKey, signature)) {
    throw unauthorized('BAD_SIGNATURE', 'csr signature does not verify');
  }
  return { publicKey, spki, subject };
}

/**
 * Products must use RSA or P-256 (transport-protocol.md). RSA is held to e = 65537 and a
 * 2048-4096-bit modulus: verifying with a huge exponent or modulus costs milliseconds of CPU,
 * which an unauthenticated sender could otherwise buy with every message.
 */
export function assertKeyStrength(key: KeyObject): void {
  const d = key.asymmetricKeyDetails;
  const bits = d?.modulusLength ?? 0;
  const ok =
    (key.asymmetricKeyType === 'rsa' && bits >= 2048 && bits <= 4096 && d?.publicExponent === 65537n) ||
    (key.asymmetricKeyType === 'ec' && d?.namedCurve === 'prime256v1');
  if (!ok) throw badRequest('INVALID_MESSAGE', 'key must be RSA (2048-4096 bits, e = 65537) or EC P-256');
}
