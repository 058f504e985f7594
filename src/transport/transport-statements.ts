import { Prisma } from '../generated/prisma/client';
import type { SqlTx } from '../store/database';
import { HOST_COMMON_NAME_KEY, SYNC_REQUIRED_KEY } from '../hcn/host-common-name';
import type { ComplianceSnapshot } from '../licenses/license-service';
import { AppError, unauthorized } from '../errors';
import { boundedAnswer, type StoredAnswer } from './idempotency';
import type { ConsumedToken } from '../tokens/token-service';
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
 * The product-message statements: each message type's effect as one or two calls of the
 * functions of migration 20261201060000_transport_functions (see there), run by Store.twoStep.
 */

export type InstanceRow = { id: string; udiPid: string; udiSn: string; status: string; publicKeyPem: string; certNotAfter: Date };
type Preflight = { hostCommonName: string; syncRequired: boolean; stored: StoredAnswer | null; instance: InstanceRow | null; token: ConsumedToken | null };
type PreflightRow = { hostCommonName: unknown; syncRequired: unknown; requestHash: string | null; httpStatus: number | null; body: unknown; token: ConsumedToken | null } & {
  [K in keyof InstanceRow]: InstanceRow[K] | null;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Everything a message needs before its transaction, in one statement: the stored answer for
 * (sender, jti), the Host Common Name with its sync-required flag, the instance `kid` names, and for
 * a registration its token if usable (`usableToken`: the tokens feature's query).
 */
export async function preflight(sql: SqlTx, sender: string, jti: string, kid: string | undefined, usableToken?: Prisma.Sql): Promise<Preflight> {
  const instanceId = kid !== undefined && UUID.test(kid) ? kid : null;
  const token = usableToken ? Prisma.sql`(SELECT to_jsonb(u) FROM (${usableToken}) u)` : Prisma.sql`NULL::jsonb`;
  const [row] = await sql.$queryRaw<PreflightRow[]>`
    SELECT (SELECT value FROM setting WHERE key = ${HOST_COMMON_NAME_KEY}) AS "hostCommonName",
           ${token} AS "token",
           (SELECT value FROM setting WHERE key = ${SYNC_REQUIRED_KEY}) AS "syncRequired",
           r.request_hash AS "requestHash", r.http_status AS "httpStatus", r.body,
           p.id::text AS "id", p.udi_pid AS "udiPid", p.udi_sn AS "udiSn", p.status::text AS "status",
           p.public_key_pem AS "publicKeyPem", p.cert_not_after AS "certNotAfter"
      FROM (VALUES (1)) AS one (x)
      LEFT JOIN idempotency_record r ON r.sender = ${sender} AND r.jti = ${jti}
      LEFT JOIN product_instance p ON p.id = ${instanceId}::uuid`;
  if (typeof row.hostCommonName !== 'string') throw new Error('Host Common Name is not initialized');
  return {
    hostCommonName: row.hostCommonName,
    syncRequired: row.syncRequired === true,
    stored: row.requestHash === null ? null : { requestHash: row.requestHash, httpStatus: row.httpStatus!, body: row.body },
    token: row.token,
    instance: row.id === null
      ? null
      : { id: row.id, udiPid: row.udiPid!, udiSn: row.udiSn!, status: row.status!, publicKeyPem: row.publicKeyPem!, certNotAfter: row.certNotAfter! },
  };
}

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

export type RegisterCall = {
  sender: string;
  jti: string;
  requestHash: string;
  udi: { pid: string; sn: string };
  /** The id a new instance gets. */
  newId: string;
  token: { tokenId: string; virtualAccountId: string };
  name: string;
  productType: string;
  softwareVersion: string | null;
  exportControlled: boolean;
  cert: { serialHex: string; pem: string; notAfter: Date };
  keyPem: string;
  now: Date;
  eventDetails: Record<string, unknown>;
};
export type RegisterRow = { result: { stored: StoredAnswer } | { id: string } };

/** A transport register's first statement (slm_transport_register): claim, instance, event. */
export function registerSql(c: RegisterCall): Prisma.Sql {
  return Prisma.sql`
    SELECT slm_transport_register(${c.sender}, ${c.jti}, ${c.requestHash}, ${c.udi.pid}, ${c.udi.sn}, ${c.newId}::uuid,
                                  ${c.token.virtualAccountId}::uuid, ${c.token.tokenId}::uuid, ${c.name}, ${c.productType}, ${c.softwareVersion},
                                  ${c.exportControlled}::boolean, ${c.cert.serialHex}, ${c.cert.pem}, ${c.keyPem}, ${c.cert.notAfter}::timestamptz,
                                  ${c.now}::timestamptz, ${JSON.stringify(c.eventDetails)}::jsonb) AS result`;
}

/** Its last statement, with the COMMIT: the token's use and the stored answer (slm_transport_register_answer). */
export function registerAnswerSql(c: RegisterCall, body: { response: string }): Prisma.Sql {
  return Prisma.sql`
    SELECT slm_transport_register_answer(${c.token.tokenId}::uuid, ${c.token.virtualAccountId}::uuid, ${c.now}::timestamptz,
                                         ${c.sender}, ${c.jti}, ${JSON.stringify(boundedAnswer(body))}::jsonb)`;
}

/** The token could not be used after all (revoked, expired or used up meanwhile): the caller finds out why. */
export class TokenRefused extends Error {}

const REFUSALS: Record<string, (detail: string) => Error> = {
  HOST_COMMON_NAME_MISMATCH: (name) =>
    new AppError('HOST_COMMON_NAME_MISMATCH', 421, `aud is not this server's Host Common Name ${name}`, { hostCommonName: name }),
  UNKNOWN_PRODUCT_INSTANCE: () => new AppError('UNKNOWN_PRODUCT_INSTANCE', 404, 'no such product instance'),
  KEY_CHANGED: () => new KeyChanged(),
  PRODUCT_INSTANCE_DEREGISTERED: () =>
    new AppError('PRODUCT_INSTANCE_DEREGISTERED', 410, 'this product instance was deregistered or removed: register again'),
  CERTIFICATE_EXPIRED: () => unauthorized('CERTIFICATE_EXPIRED', 'the ID certificate of this product instance has expired: register again'),
  UDI_REGISTERED_ELSEWHERE: () =>
    new AppError('UDI_REGISTERED_ELSEWHERE', 409,
      'this UDI is registered in another virtual account: sign with the instance\'s current key, or have an admin remove the instance first'),
  TOKEN_REFUSED: () => new TokenRefused(),
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
  const match = /\b([A-Z_]{6,})(?: ([^\n"`]*))?/.exec(text.replace(/^.*?ERROR: /s, ''));
  const make = match ? REFUSALS[match[1]] : undefined;
  return make?.((match![2] ?? '').trim());
}
