import { createHash, createPublicKey, KeyObject, sign, verify, X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { AppError, badRequest } from '../errors';

/**
 * A sync response travels as a JWS in the flattened JSON serialization (RFC 7515 section 7.2.2):
 * `{"protected", "payload", "signature"}`, the payload being the response document. Only the
 * vendor's key, installed by an admin, verifies it; nothing of an unverified document is read.
 * The header's `typ` binds the signature to this use, so nothing else the vendor signs with the
 * same key can pass for a sync response.
 */
export const SIGNED_RESPONSE_TYP = 'slm-sync-response+jws';

export type SignedResponse = { protected: string; payload: string; signature: string };
type Algorithm = 'ES256' | 'ES384' | 'RS256' | 'EdDSA';

const segment = z.string().regex(/^[A-Za-z0-9_-]+$/);
const envelopeSchema = z.object({ protected: segment, payload: segment, signature: segment }).strict();
const headerSchema = z.object({ alg: z.string(), typ: z.string(), kid: z.string().optional() }).loose();

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** SHA-256 of the key's SubjectPublicKeyInfo (hex): how the key is named in `kid`, status and events. */
export const keyFingerprint = (key: KeyObject) => createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex');

/** The one algorithm a key verifies, so the header cannot choose a weaker one (or `none`). */
export function algorithmOf(key: KeyObject): Algorithm {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType === 'ec' && curve === 'prime256v1') return 'ES256';
  if (key.asymmetricKeyType === 'ec' && curve === 'secp384r1') return 'ES384';
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (key.asymmetricKeyType === 'rsa' && bits >= 2048 && bits <= 8192 && key.asymmetricKeyDetails?.publicExponent === 65537n) return 'RS256';
  throw badRequest('SYNC_UPSTREAM_KEY_INVALID', 'the upstream key must be EC P-256 or P-384, Ed25519, or RSA of 2048-8192 bits with e = 65537');
}

const HASH: Record<Algorithm, string | null> = { ES256: 'sha256', ES384: 'sha384', RS256: 'sha256', EdDSA: null };
const keyInput = (key: KeyObject) => (key.asymmetricKeyType === 'ec' ? { key, dsaEncoding: 'ieee-p1363' as const } : key);

/**
 * The vendor's public key from what an admin installs: a PEM public key or a PEM certificate
 * (only its key is used; the vendor vouches for it out of band, as the admin does by installing it).
 */
export function parseVendorKey(pem: string): { key: KeyObject; certificateSubject: string | null } {
  const invalid = () => badRequest('SYNC_UPSTREAM_KEY_INVALID', 'not a PEM public key (BEGIN PUBLIC KEY) or certificate (BEGIN CERTIFICATE)');
  let parsed: { key: KeyObject; certificateSubject: string | null };
  try {
    if (/-----BEGIN CERTIFICATE-----/.test(pem)) {
      const cert = new X509Certificate(pem);
      parsed = { key: cert.publicKey, certificateSubject: cert.subject.replace(/\n/g, ', ') };
    } else if (/-----BEGIN PUBLIC KEY-----/.test(pem)) {
      parsed = { key: createPublicKey({ key: pem, format: 'pem' }), certificateSubject: null };
    } else {
      throw invalid();
    }
  } catch {
    throw invalid();
  }
  algorithmOf(parsed.key);
  return parsed;
}

/** Signs a response document (what the vendor cloud, and the reference upstream, do). */
export function signResponse(document: unknown, privateKey: KeyObject): SignedResponse {
  const publicKey = createPublicKey(privateKey);
  const alg = algorithmOf(publicKey);
  const header = b64url(JSON.stringify({ alg, typ: SIGNED_RESPONSE_TYP, kid: keyFingerprint(publicKey) }));
  const payload = b64url(JSON.stringify(document));
  const signature = sign(HASH[alg], Buffer.from(`${header}.${payload}`), keyInput(privateKey));
  return { protected: header, payload, signature: b64url(signature) };
}

const unsigned = () =>
  badRequest('SYNC_RESPONSE_UNSIGNED', 'the response is not a signed sync response (a JWS with "protected", "payload" and "signature"): only answers signed by the vendor key are applied');
const badSignature = (why: string) => badRequest('SYNC_RESPONSE_SIGNATURE_INVALID', `the response signature does not verify with the installed upstream key: ${why}`);

/**
 * The response document inside a signed response, once its signature verifies with `key`.
 * Messages are fixed texts: nothing of the unverified input is echoed.
 */
export function verifySignedResponse(body: unknown, key: KeyObject): unknown {
  const envelope = envelopeSchema.safeParse(body);
  if (!envelope.success) throw unsigned();
  const { protected: protectedSegment, payload, signature } = envelope.data;
  let header: z.infer<typeof headerSchema>;
  try {
    header = headerSchema.parse(JSON.parse(Buffer.from(protectedSegment, 'base64url').toString('utf8')));
  } catch {
    throw unsigned();
  }
  if (header.typ !== SIGNED_RESPONSE_TYP) throw badSignature(`the header typ is not ${SIGNED_RESPONSE_TYP}`);
  if (header.kid !== undefined && header.kid !== keyFingerprint(key)) throw badSignature('it names another key (kid): was the vendor key replaced? install the new one');
  const alg = algorithmOf(key);
  if (header.alg !== alg) throw badSignature(`the installed key verifies ${alg} only`);
  let ok = false;
  try {
    ok = verify(HASH[alg], Buffer.from(`${protectedSegment}.${payload}`), keyInput(key), Buffer.from(signature, 'base64url'));
  } catch {
    ok = false;
  }
  if (!ok) throw badSignature('the signature was not made with that key');
  try {
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('SYNC_RESPONSE_INVALID', 'the signed payload is not JSON');
  }
}

/** No key installed: nothing can be verified, so nothing is applied (and nothing is sent). */
export const upstreamKeyMissing = () =>
  new AppError('SYNC_UPSTREAM_KEY_MISSING', 409, 'no upstream key is installed: install the vendor signing key first (slm upstream-key install FILE, PUT /api/v1/sync/upstream-key)');
