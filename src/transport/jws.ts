import { KeyObject, sign, verify, X509Certificate } from 'node:crypto';
import { badRequest, unauthorized } from '../errors';

/**
 * Compact JWS (RFC 7515) with native crypto, for the two algorithms the protocol allows.
 * The algorithm is pinned by the key type: an RSA key only verifies RS256, a P-256 key only
 * ES256, so `alg: none` or HS256-with-a-public-key tricks never verify.
 */

export type JwsAlgorithm = 'RS256' | 'ES256';
export type JwsHeader = { alg: JwsAlgorithm; kid?: string; x5c?: string[]; typ?: string };
export type DecodedJws = {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  /** The base64url payload segment exactly as received (the idempotency hash covers it). */
  payloadSegment: string;
  signingInput: string;
  signature: Buffer;
};

const SEGMENT = /^[A-Za-z0-9_-]*$/;
const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

function parseSegment(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('INVALID_MESSAGE', `the JWS ${what} is not base64url JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest('INVALID_MESSAGE', `the JWS ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** Splits and decodes a compact JWS without verifying it. */
export function decodeJws(token: string): DecodedJws {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => SEGMENT.test(p)) || !parts[0] || !parts[1] || !parts[2]) {
    throw badRequest('INVALID_MESSAGE', 'message is not a compact JWS (header.payload.signature)');
  }
  return {
    header: parseSegment(parts[0], 'header'),
    claims: parseSegment(parts[1], 'payload'),
    payloadSegment: parts[1],
    signingInput: `${parts[0]}.${parts[1]}`,
    signature: Buffer.from(parts[2], 'base64url'),
  };
}

/** The only algorithm a key may be used with. */
export function algorithmFor(key: KeyObject): JwsAlgorithm {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw badRequest('INVALID_MESSAGE', 'key must be RSA or EC P-256');
}

const keyInput = (key: KeyObject) =>
  key.asymmetricKeyType === 'ec' ? { key, dsaEncoding: 'ieee-p1363' as const } : key;

/** Throws BAD_SIGNATURE unless the JWS verifies with `publicKey` under the algorithm of that key. */
export function verifyJws(jws: DecodedJws, publicKey: KeyObject): void {
  const expected = algorithmFor(publicKey);
  if (jws.header.alg !== expected) {
    throw unauthorized('BAD_SIGNATURE', `JWS alg must be ${expected} for this key`);
  }
  let ok = false;
  try {
    ok = verify('sha256', Buffer.from(jws.signingInput), keyInput(publicKey), jws.signature);
  } catch {
    ok = false;
  }
  if (!ok) throw unauthorized('BAD_SIGNATURE', 'JWS signature does not verify');
}

export function signJws(claims: Record<string, unknown>, privateKey: KeyObject, header: Omit<JwsHeader, 'alg'> = {}): string {
  return jwsSigner(privateKey, header)(claims);
}

/** A signer with the header encoded once (the server's x5c chain is the same for every answer). */
export function jwsSigner(privateKey: KeyObject, header: Omit<JwsHeader, 'alg'> = {}): (claims: Record<string, unknown>) => string {
  // A private KeyObject carries its type and curve, so the algorithm needs no public key derived from it.
  const headerSegment = b64url(JSON.stringify({ alg: algorithmFor(privateKey), ...header }));
  const key = keyInput(privateKey);
  return (claims) => {
    const signingInput = `${headerSegment}.${b64url(JSON.stringify(claims))}`;
    return `${signingInput}.${b64url(sign('sha256', Buffer.from(signingInput), key))}`;
  };
}

export const pemToDerBase64 = (pem: string) => new X509Certificate(pem).raw.toString('base64');

export class ResponseVerificationError extends Error {
  name = 'ResponseVerificationError';
}

/**
 * What a product does with a server response: every x5c certificate must be in force and signed
 * by the next one, the last by `trustedCaPem` (the CA itself may be the last element), and the
 * JWS must verify with the first. Returns the claims.
 */
export function verifyServerResponse(token: string, trustedCaPem: string, now: Date = new Date()): Record<string, unknown> {
  let jws: DecodedJws;
  try {
    jws = decodeJws(token);
  } catch {
    throw new ResponseVerificationError('server response is not a compact JWS');
  }
  const x5c = jws.header.x5c;
  if (!Array.isArray(x5c) || x5c.length === 0 || !x5c.every((c) => typeof c === 'string')) {
    throw new ResponseVerificationError('server response has no x5c chain');
  }
  const chain = x5c.map((der) => new X509Certificate(Buffer.from(der as string, 'base64')));
  const trusted = new X509Certificate(trustedCaPem);
  chain.forEach((cert, i) => {
    const issuer = chain[i + 1] ?? trusted;
    const inForce = new Date(cert.validFrom) <= now && now <= new Date(cert.validTo);
    if (!inForce || !cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) {
      throw new ResponseVerificationError(`server response certificate ${i} is not issued by the trusted CA`);
    }
  });
  try {
    verifyJws(jws, chain[0].publicKey);
  } catch {
    throw new ResponseVerificationError('server response signature does not verify');
  }
  return jws.claims;
}
