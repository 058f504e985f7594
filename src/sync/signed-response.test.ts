import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { generateEcKeyPair } from '../pki/x509';
import { generateUpstreamKeys } from './reference-upstream-keys';
import { keyFingerprint, parseVendorKey, signResponse, verifySignedResponse } from './signed-response';

const vendor = generateEcKeyPair();
const document = { formatVersion: 1, requestId: 'r', accounts: [{ name: 'ACME', quantity: 1_000_000_000 }] };
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('Signed sync responses', () => {
  test('When the vendor key signed the document, then verifying returns it', () => {
    expect(verifySignedResponse(signResponse(document, vendor.privateKey), vendor.publicKey)).toEqual(document);
  });

  test.each([
    ['a plain (unsigned) response document', () => document, 'SYNC_RESPONSE_UNSIGNED'],
    ['a document signed by another key', () => signResponse(document, generateEcKeyPair().privateKey), 'SYNC_RESPONSE_SIGNATURE_INVALID'],
    ['a signed document whose payload was changed', () => ({ ...signResponse(document, vendor.privateKey), payload: b64({ ...document, requestId: 'other' }) }), 'SYNC_RESPONSE_SIGNATURE_INVALID'],
    ['a header that says alg none', () => ({ ...signResponse(document, vendor.privateKey), protected: b64({ alg: 'none', typ: 'slm-sync-response+jws' }) }), 'SYNC_RESPONSE_SIGNATURE_INVALID'],
    ['a signature of another document type', () => ({ ...signResponse(document, vendor.privateKey), protected: b64({ alg: 'ES256', typ: 'JWT' }) }), 'SYNC_RESPONSE_SIGNATURE_INVALID'],
  ])('When the response is %s, then it is refused with %s', (_label, make, code) => {
    expect(() => verifySignedResponse(make(), vendor.publicKey)).toThrow(expect.objectContaining({ code, status: 400 }));
  });

  test('When an admin installs a certificate, a public key, garbage or a weak RSA key, then only the first two are accepted', () => {
    const keys = generateUpstreamKeys();
    const fromCert = parseVendorKey(keys.caCertPem);
    expect(fromCert.certificateSubject).toContain('Reference Upstream Root CA');
    const pem = vendor.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    expect(keyFingerprint(parseVendorKey(pem).key)).toBe(keyFingerprint(createPublicKey(vendor.privateKey)));
    expect(() => parseVendorKey('hello')).toThrow(expect.objectContaining({ code: 'SYNC_UPSTREAM_KEY_INVALID' }));
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }) as string;
    expect(() => parseVendorKey(weak)).toThrow(expect.objectContaining({ code: 'SYNC_UPSTREAM_KEY_INVALID' }));
  });
});
