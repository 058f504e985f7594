import { generateKeyPairSync, KeyObject, sign } from 'node:crypto';
import { commonNameDn, ECDSA_SHA256, SEQUENCE, tlv } from '../pki/der';

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

// sha256WithRSAEncryption, with its NULL parameters.
const RSA_SHA256 = tlv(SEQUENCE, Buffer.from('06092a864886f70d01010b', 'hex'), Buffer.from('0500', 'hex'));

export function createCsr(privateKey: KeyObject, commonName: string, publicKey: KeyObject): string {
  const info = tlv(
    SEQUENCE,
    Buffer.from('020100', 'hex'), // version 0
    commonNameDn(commonName),
    publicKey.export({ type: 'spki', format: 'der' }) as Buffer,
    Buffer.from('a000', 'hex'), // attributes [0]: none
  );
  const algorithm = privateKey.asymmetricKeyType === 'rsa' ? RSA_SHA256 : ECDSA_SHA256;
  const signature = sign('sha256', info, privateKey);
  const der = tlv(SEQUENCE, info, algorithm, tlv(0x03, Buffer.from([0]), signature));
  const b64 = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE REQUEST-----\n${b64}-----END CERTIFICATE REQUEST-----\n`;
}
