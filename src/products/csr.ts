import { generateKeyPairSync, KeyObject, sign } from 'node:crypto';

/**
 * What a product does to get certified: a key pair and a PKCS#10 request for it (RFC 2986),
 * DER-encoded by hand (a handful of fixed structures) and signed with native crypto, so RSA and
 * P-256 keys both work and the key's SubjectPublicKeyInfo goes in byte for byte.
 */

export type ProductKeyType = 'ec' | 'rsa';

export function generateProductKey(type: ProductKeyType): KeyObject {
  return type === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
    : generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  const length = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, body]);
}
const SEQUENCE = 0x30;
const SET = 0x31;
// Pre-encoded OBJECT IDENTIFIERs: commonName, sha256WithRSAEncryption, ecdsa-with-SHA256.
const OID_COMMON_NAME = Buffer.from('0603550403', 'hex');
const RSA_SHA256 = tlv(SEQUENCE, Buffer.from('06092a864886f70d01010b', 'hex'), Buffer.from('0500', 'hex'));
const ECDSA_SHA256 = tlv(SEQUENCE, Buffer.from('06082a8648ce3d040302', 'hex'));

export function createCsr(privateKey: KeyObject, commonName: string, publicKey: KeyObject): string {
  const subject = tlv(SEQUENCE, tlv(SET, tlv(SEQUENCE, OID_COMMON_NAME, tlv(0x0c, Buffer.from(commonName, 'utf8')))));
  const info = tlv(
    SEQUENCE,
    Buffer.from('020100', 'hex'), // version 0
    subject,
    publicKey.export({ type: 'spki', format: 'der' }) as Buffer,
    Buffer.from('a000', 'hex'), // attributes [0]: none
  );
  const algorithm = privateKey.asymmetricKeyType === 'rsa' ? RSA_SHA256 : ECDSA_SHA256;
  const signature = sign('sha256', info, privateKey);
  const der = tlv(SEQUENCE, info, algorithm, tlv(0x03, Buffer.from([0]), signature));
  const b64 = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE REQUEST-----\n${b64}-----END CERTIFICATE REQUEST-----\n`;
}
