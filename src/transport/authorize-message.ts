import type { Clock } from '../clock';
import type { Store } from '../store/database';
import { AppError } from '../errors';
import { verifyJws } from './jws';
import type { AuthorizeClaims, ProductMessage } from './messages';
import { canonicalHost, replay, type ComplianceSource, type IdemKey, type Signer, type TransportAnswer } from './transport-rules';
import { answerSql, authorizeSql, KeyChanged, refusal, type AuthorizeRow } from './transport-statements';
import type { InstanceKeys } from './instance-keys';

const DAY_MS = 86_400_000;
export const AUTHORIZATION_DAYS = 90;
export const NEXT_AUTHORIZATION_DAYS = 30;

/**
 * The authorize message, the one products send most: its usage applied and its answer stored in
 * two statements (authorizeSql, then answerSql with COMMIT), and, for a product whose key is
 * known, without the preflight read.
 */
export class Authorizations {
  constructor(
    private readonly deps: { store: Pick<Store, 'twoStep'>; clock: Clock; licenses: ComplianceSource; clockSkewSeconds: number },
    private readonly keys: InstanceKeys,
    private readonly signer: () => Promise<Signer>,
  ) {}

  /**
   * The common authorize in one statement, without the preflight read: the instance's key is
   * known from an earlier message, the signature verifies with it and `iat` is fresh. Anything
   * else (unknown key, bad signature, stale `iat`: perhaps a resend of an answered message)
   * returns undefined and takes the full path, which looks the stored answer up first.
   */
  async known(message: ProductMessage, claims: AuthorizeClaims, key: IdemKey): Promise<TransportAnswer | undefined> {
    const known = this.keys.get(message.kid!);
    const now = this.deps.clock();
    if (!known || Math.abs(now.getTime() / 1000 - claims.iat) > this.deps.clockSkewSeconds) return undefined;
    try {
      verifyJws(message.jws, known.key);
    } catch {
      return undefined;
    }
    try {
      return await this.apply(key, claims, message.kid!, known.pem, canonicalHost(claims.aud), now);
    } catch (err) {
      if (!(err instanceof KeyChanged)) throw err;
      this.keys.forget(message.kid!);
      return undefined;
    }
  }

  /**
   * Overall is AUTHORIZED only when every entitlement with a count above 0 is AUTHORIZED: a tag
   * this virtual account never bought (INVALID_TAG) that is in use makes the product
   * OUT_OF_COMPLIANCE too, while entries with count 0 use nothing and never change the outcome.
   */
  async apply(key: IdemKey, claims: AuthorizeClaims, instanceId: string, keyPem: string, aud: string, now: Date): Promise<TransportAnswer> {
    const signer = await this.signer();
    const call = { ...key, aud, instanceId, keyPem, entitlements: claims.entitlements, now };
    try {
      return await this.deps.store.twoStep<AuthorizeRow, TransportAnswer>(authorizeSql(call), async ([{ result }]) => {
        if ('stored' in result) return { result: replay(result.stored, key.requestHash) };
        const statuses = this.deps.licenses.complianceOf(result, claims.entitlements.map((e) => e.tag), now);
        const entitlements = claims.entitlements.map((e) => ({ tag: e.tag, count: e.count, status: statuses.get(e.tag) ?? 'INVALID_TAG' }));
        const compliant = entitlements.every((e) => e.count === 0 || e.status === 'AUTHORIZED');
        const body = { response: signer({
          typ: 'authorize',
          overall: compliant ? 'AUTHORIZED' : 'OUT_OF_COMPLIANCE',
          entitlements,
          authorizationExpires: new Date(now.getTime() + AUTHORIZATION_DAYS * DAY_MS).toISOString(),
          nextAuthorization: new Date(now.getTime() + NEXT_AUTHORIZATION_DAYS * DAY_MS).toISOString(),
          iat: Math.floor(now.getTime() / 1000),
          requestJti: key.jti,
        }) };
        return { result: { httpStatus: 200, body }, last: answerSql(call, result, body) };
      });
    } catch (thrown) {
      const err = refusal(thrown) ?? thrown;
      // A stored Host Common Name that is not in canonical form (set invalid, to be fixed by the admin) still matches.
      const stored = err instanceof AppError && err.code === 'HOST_COMMON_NAME_MISMATCH' ? String(err.details?.hostCommonName) : undefined;
      if (stored !== undefined && stored !== aud && canonicalHost(stored) === canonicalHost(aud)) {
        return this.apply(key, claims, instanceId, keyPem, stored, now);
      }
      throw err;
    }
  }
}
