import { isIP } from 'node:net';
import { derToPem } from '../pki/x509';
import { conflict } from '../errors';
import type { StoredAnswer } from './idempotency';
import type { ComplianceSnapshot } from '../licenses/license-service';

/** Small rules of the transport protocol, shared by its message types. */

export type TransportAnswer = { httpStatus: number; body: { response: string } };
export type EntitlementStatus = 'AUTHORIZED' | 'OUT_OF_COMPLIANCE' | 'INVALID_TAG';
/** The licenses module's accounting, asked about what an authorize's statement read after writing the new usage. */
export type ComplianceSource = {
  complianceOf(snapshot: ComplianceSnapshot, tags: string[], now: Date): Map<string, EntitlementStatus>;
};
/** The idempotency key of a message: who sent it, its jti, and the hash of its payload. */
export type IdemKey = { sender: string; jti: string; requestHash: string };
/** Signs an answer's claims as the server (a compact JWS with the x5c chain). */
export type Signer = (claims: Record<string, unknown>) => string;

/** The stored answer for a resent message; REPLAYED_MESSAGE when the jti came with another payload. */
export function replay(stored: StoredAnswer, requestHash: string): TransportAnswer {
  if (stored.requestHash !== requestHash) {
    throw conflict('REPLAYED_MESSAGE', 'this jti was already used by a different message from this product');
  }
  return { httpStatus: stored.httpStatus, body: stored.body as TransportAnswer['body'] };
}

/** `aud` in the Host Common Name's canonical form (lower case, RFC 5952 IPv6, no brackets or trailing dot). */
export function canonicalHost(host: string): string {
  const name = host.trim().toLowerCase().replace(/\.$/, '');
  const bare = /^\[(.*)\]$/.exec(name)?.[1] ?? name;
  return isIP(bare) === 6 ? new URL(`http://[${bare}]/`).hostname.slice(1, -1) : bare;
}

export const spkiPem = (spki: Buffer) => derToPem(spki, 'PUBLIC KEY');
/** The DER inside a PEM public key (no parsing: the key was checked when it was stored). */
export const spkiDer = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s+/g, ''), 'base64');

export function addMonths(date: Date, months: number): Date {
  const d = new Date(date.getTime());
  d.setUTCMonth(d.getUTCMonth() + months);
  return d;
}
