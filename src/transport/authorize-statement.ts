import { Prisma } from '../generated/prisma/client';
import type { ComplianceSnapshot } from '../licenses/license-service';
import { AppError, unauthorized } from '../errors';
import { boundedAnswer, type StoredAnswer } from './idempotency';
import type { AuthorizeClaims } from './messages';

/** Distinct tags sold by no license on this server that one virtual account may have in use. */
export const MAX_UNKNOWN_TAGS = 100;

/** What the authorize's first statement did and read: the change to the totals and the compliance inputs. */
export type AuthorizeEffect = ComplianceSnapshot & { virtualAccountId: string; tags: string[]; deltas: number[] };

/** The instance's key changed after the caller verified the message with the one it had. */
export class KeyChanged extends Error {}

export type AuthorizeCall = {
  sender: string;
  jti: string;
  requestHash: string;
  /** Compared with the stored Host Common Name as is. */
  aud: string;
  instanceId: string;
  /** The key (SPKI PEM) the message was verified with. */
  keyPem: string;
  entitlements: AuthorizeClaims['entitlements'];
  now: Date;
};

/**
 * A transport authorize's first statement (slm_transport_authorize, see its migration): the
 * idempotency claim, the Host Common Name and instance checks, the new usage rows. Its one row's
 * `result` is the answer stored for (sender, jti) if that was already claimed, else an AuthorizeEffect.
 */
export function authorizeSql(c: AuthorizeCall): Prisma.Sql {
  return Prisma.sql`
    SELECT slm_transport_authorize(${c.sender}, ${c.jti}, ${c.requestHash}, ${c.aud}, ${c.instanceId}::uuid, ${c.keyPem},
                                   ${c.entitlements.map((e) => e.tag)}::text[], ${c.entitlements.map((e) => e.count)}::int[],
                                   ${c.now}::timestamptz, ${MAX_UNKNOWN_TAGS}::int) AS result`;
}
export type AuthorizeRow = { result: { stored: StoredAnswer } | AuthorizeEffect };

/**
 * The authorize's last statement: moves the virtual account's totals by the change and stores the
 * answer; it travels with the COMMIT, so the totals' rows are locked for no round trip.
 */
export function answerSql(c: AuthorizeCall, effect: AuthorizeEffect, body: { response: string }): Prisma.Sql {
  return Prisma.sql`
    SELECT slm_transport_answer(${c.sender}, ${c.jti}, ${JSON.stringify(boundedAnswer(body))}::jsonb,
                                ${effect.virtualAccountId}::uuid, ${effect.tags}::text[], ${effect.deltas}::int[])`;
}

const REFUSALS: Record<string, (detail: string) => Error> = {
  HOST_COMMON_NAME_MISMATCH: (name) =>
    new AppError('HOST_COMMON_NAME_MISMATCH', 421, `aud is not this server's Host Common Name ${name}`, { hostCommonName: name }),
  UNKNOWN_PRODUCT_INSTANCE: () => new AppError('UNKNOWN_PRODUCT_INSTANCE', 404, 'no such product instance'),
  KEY_CHANGED: () => new KeyChanged(),
  PRODUCT_INSTANCE_DEREGISTERED: () =>
    new AppError('PRODUCT_INSTANCE_DEREGISTERED', 410, 'this product instance was deregistered or removed: register again'),
  CERTIFICATE_EXPIRED: () => unauthorized('CERTIFICATE_EXPIRED', 'the ID certificate of this product instance has expired: register again'),
  TOO_MANY_UNKNOWN_TAGS: () =>
    new AppError('TOO_MANY_UNKNOWN_TAGS', 409,
      `this report would put more than ${MAX_UNKNOWN_TAGS} distinct tags that no license sells in use in this virtual account: nothing was applied`),
};

/**
 * The protocol error a function raised (RAISE EXCEPTION '<CODE> <detail>'), from node-postgres
 * (the message itself) or from Prisma on the embedded store (inside its message).
 */
export function refusal(err: unknown): Error | undefined {
  const text = (err as { message?: unknown }).message;
  if (typeof text !== 'string') return undefined;
  const match = /\b([A-Z_]{6,})(?: ([^\n"]*))?/.exec(text.replace(/^.*?ERROR: /s, ''));
  const make = match ? REFUSALS[match[1]] : undefined;
  return make?.((match![2] ?? '').trim());
}
