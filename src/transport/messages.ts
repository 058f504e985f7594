import { z } from 'zod';
import { badRequest } from '../errors';
import { decodeJws, type DecodedJws } from './jws';

/**
 * The product messages of transport-protocol.md as types, and their structural checks.
 * Decisions where the spec is silent (documented in openapi.yaml):
 * - unknown claims are ignored, so products may send more than the spec lists;
 * - `jti` is any string of 1–128 characters (a UUID in practice);
 * - `aud` is a single string (not a JWT audience array);
 * - UDI `pid` and `sn` are 1–64 visible ASCII characters without spaces, so the certificate
 *   subject `UDI_PID:<pid> UDI_SN:<sn>` stays unambiguous;
 * - an `authorize` lists each tag at most once, at most 1000 entries, counts 0..2^31-1.
 */

export const MESSAGE_TYPES = ['register', 'renew', 'authorize', 'deregister'] as const;
const udiPart = z.string().regex(/^[\x21-\x7e]{1,64}$/, 'must be 1-64 visible ASCII characters without spaces');
// No NUL characters: PostgreSQL text cannot hold them (and a statement would end at one).
const text = (max: number) => z.string().min(1).max(max).refine((v) => !v.includes('\u0000'), 'must not contain NUL characters');
const csr = z.string().min(1).max(16_384);
export const MAX_COUNT = 2_147_483_647;

const common = {
  jti: text(128),
  iat: z.number().finite(),
  aud: text(253),
};

const registerClaims = z.object({
  typ: z.literal('register'),
  ...common,
  idToken: text(8192),
  udi: z.object({ pid: udiPart, sn: udiPart }),
  productType: text(64),
  hostname: text(255),
  softwareVersion: text(128).optional(),
  csr,
});
const renewClaims = z.object({ typ: z.literal('renew'), ...common, csr: csr.optional() });
const authorizeClaims = z.object({
  typ: z.literal('authorize'),
  ...common,
  entitlements: z
    .array(z.object({ tag: text(255), count: z.number().int().min(0).max(MAX_COUNT) }))
    .max(1000)
    .refine((list) => new Set(list.map((e) => e.tag)).size === list.length, 'each tag may appear only once'),
});
const deregisterClaims = z.object({ typ: z.literal('deregister'), ...common });

const claimsSchema = z.discriminatedUnion('typ', [registerClaims, renewClaims, authorizeClaims, deregisterClaims]);
export type RegisterClaims = z.infer<typeof registerClaims>;
export type RenewClaims = z.infer<typeof renewClaims>;
export type AuthorizeClaims = z.infer<typeof authorizeClaims>;
export type MessageClaims = z.infer<typeof claimsSchema>;
export type Entitlement = AuthorizeClaims['entitlements'][number];

export type ProductMessage = {
  jws: DecodedJws;
  claims: MessageClaims;
  /** Instance id from the header `kid`; absent for register. */
  kid?: string;
};

const headerSchema = z.object({ alg: z.enum(['RS256', 'ES256']), kid: text(128).optional() });

/**
 * The largest JWS payload (base64url characters) accepted: 1000 entitlements of 100-character
 * tags fit; its answer, kept for resends, stays under MAX_STORED_ANSWER_CHARS.
 */
export const MAX_PAYLOAD_CHARS = 192 * 1024;

/** Decodes and checks the shape of a product message; every failure is INVALID_MESSAGE. */
export function parseMessage(compact: string): ProductMessage {
  if (compact.length > MAX_PAYLOAD_CHARS + 16 * 1024) throw badRequest('INVALID_MESSAGE', `the message exceeds ${MAX_PAYLOAD_CHARS} characters of payload`);
  const jws = decodeJws(compact);
  if (jws.payloadSegment.length > MAX_PAYLOAD_CHARS) throw badRequest('INVALID_MESSAGE', `the message exceeds ${MAX_PAYLOAD_CHARS} characters of payload`);
  const header = headerSchema.safeParse(jws.header);
  if (!header.success) throw badRequest('INVALID_MESSAGE', `JWS header: ${describe(header.error)}`);
  const claims = claimsSchema.safeParse(jws.claims);
  if (!claims.success) throw badRequest('INVALID_MESSAGE', `claims: ${describe(claims.error)}`);
  const kid = header.data.kid;
  if (claims.data.typ !== 'register' && !kid) {
    throw badRequest('INVALID_MESSAGE', `a ${claims.data.typ} message needs the product instance id as header kid`);
  }
  return { jws, claims: claims.data, kid: claims.data.typ === 'register' ? undefined : kid };
}

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/** The idempotency sender of a register: the product's UDI, as in its certificate subject. */
export const udiSubject = (udi: { pid: string; sn: string }) => `UDI_PID:${udi.pid} UDI_SN:${udi.sn}`;
