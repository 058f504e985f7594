import { X509Certificate } from 'node:crypto';
import { generateEcKeyPair, issueCertificate } from './x509';
import { isResponseSigningCertificate, RESPONSE_SIGNING_EKU, responseSigningEkuExtension } from './response-signing';

const selfIssued = (extensions: object[]) => {
  const k = generateEcKeyPair();
  const name = [{ shortName: 'CN', value: 'test' }];
  const pem = issueCertificate({ subject: name, issuer: name, subjectPublicKey: k.publicKey, issuerKey: k.privateKey, issuerPublicKey: k.publicKey, notBefore: new Date(), notAfter: new Date(Date.now() + 86_400_000), extensions }).pem;
  return { cert: new X509Certificate(pem), key: k.publicKey };
};

describe('response-signing purpose', () => {
  test('When a certificate carries the response-signing EKU, then OpenSSL reads back the exact UUID arc and the signature still verifies', () => {
    const { cert, key } = selfIssued([responseSigningEkuExtension()]);
    expect(cert.keyUsage).toEqual([RESPONSE_SIGNING_EKU]);
    expect(isResponseSigningCertificate(cert)).toBe(true);
    expect(cert.verify(key)).toBe(true);
  });

  test('When a certificate has another purpose (a product ID certificate: clientAuth) or none, then it is not a response-signing certificate', () => {
    expect(isResponseSigningCertificate(selfIssued([{ name: 'extKeyUsage', clientAuth: true }]).cert)).toBe(false);
    expect(isResponseSigningCertificate(selfIssued([]).cert)).toBe(false);
  });
});
