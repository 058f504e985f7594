import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock';
import type { Db, SqlTx } from '../store/database';
import { Prisma } from '../generated/prisma/client';
import type { JwtService } from '../auth/jwt-service';
import type { EventLog } from '../events/event-log';
import type { AccountService } from '../accounts/account-service';
import { AppError, conflict, forbidden, notFound, unauthorized } from '../errors';
import { type TokenFieldNames, type TokenRequest, UUID_PATTERN, assertValidTokenRequest, storedTokenTimes, tokenStatus, tokenTimes } from './token-rules';

/** What a registration learns from the token it used. */
export type ConsumedToken = {
  tokenId: string;
  virtualAccountId: string;
  virtualAccountName: string;
  accountId: string;
  accountName: string;
  smartAccount: string | null;
  exportControlled: boolean;
};
export type TokenConsumer = Pick<TokenService, 'verify' | 'usableTokenQuery' | 'refuse'>;
/** A registration token whose signature verified; its state in the database is not yet known. */
export type VerifiedToken = { tokenId: string; virtualAccountId: string; expiresAtSeconds: number };

type TokenRow = {
  id: string;
  virtualAccountId: string;
  description: string;
  createdAt: Date;
  expiresAt: Date;
  maxUses: number;
  uses: number;
  exportControlled: boolean;
  revokedAt: Date | null;
  createdBy: string;
};
type RegistrationClaims = { jti?: unknown; va?: unknown; exp?: unknown };

/** The token's own expiry (the row's may be earlier: an admin can shorten it). */
const pastItsExpiry = (token: VerifiedToken, now: Date) => token.expiresAtSeconds * 1000 <= now.getTime();

const invalidToken = () => unauthorized('TOKEN_INVALID', 'the registration token is unknown or forged');
/** Tokens whose signature verified, kept by their text (a fleet registers with a few tokens). */
const MAX_VERIFIED_TOKENS = 1_000;

/** Product Instance Registration Tokens: creation, listing, revocation, and their use by registrations. */
export class TokenService {
  private readonly verified = new Map<string, VerifiedToken>();

  constructor(
    private readonly db: Db,
    private readonly jwt: JwtService,
    private readonly accounts: AccountService,
    private readonly events: EventLog,
    private readonly clock: Clock,
  ) {}

  async create(actor: string, accountName: string, virtualAccountName: string, input: TokenRequest, names: TokenFieldNames = 'ours') {
    assertValidTokenRequest(input, names);
    const va = await this.accounts.resolveVirtualAccount(accountName, virtualAccountName);
    if (va.accountStatus !== 'ACTIVE') {
      throw new AppError('INVALID_ACCOUNT_STATE', 409, `account ${accountName} is ${va.accountStatus}: tokens can only be created for active accounts`, {
        status: va.accountStatus,
      });
    }
    const now = this.clock();
    const { expiresAt } = tokenTimes(now, input.expiresInDays);
    const row = await this.db.$transaction(async (tx) => {
      const created = await tx.registrationToken.create({
        data: {
          id: randomUUID(),
          virtualAccountId: va.virtualAccountId,
          description: input.description,
          createdAt: now,
          expiresAt,
          maxUses: input.maxUses ?? 1,
          exportControlled: input.exportControlled ?? false,
          createdBy: actor,
        },
      });
      await this.events.record({
        actor, action: 'token.create', objectType: 'registration-token', objectId: created.id, outcome: 'success',
        details: { account: accountName, virtualAccount: virtualAccountName, expiresInDays: input.expiresInDays, maxUses: created.maxUses, exportControlled: created.exportControlled },
      }, tx);
      return created;
    });
    return this.present(row, now);
  }

  /** With `withTokens` false the token strings are left out (callers that may see metadata only). */
  async list(accountName: string, virtualAccountName: string, withTokens = true) {
    const va = await this.accounts.resolveVirtualAccount(accountName, virtualAccountName);
    const rows = await this.db.registrationToken.findMany({ where: { virtualAccountId: va.virtualAccountId }, orderBy: [{ createdAt: 'desc' }, { id: 'asc' }] });
    const now = this.clock();
    return rows.map((r) => (withTokens ? this.present(r, now) : metadata(r, now)));
  }

  /** `accountId` confines the revocation to one account's tokens (API clients): others' are TOKEN_NOT_FOUND. */
  async revoke(actor: string, tokenId: string, accountId?: string) {
    if (!UUID_PATTERN.test(tokenId)) throw tokenNotFound(tokenId);
    const now = this.clock();
    const scope = { id: tokenId, ...(accountId ? { virtualAccount: { accountId } } : {}) };
    const row = await this.db.$transaction(async (tx) => {
      const { count } = await tx.registrationToken.updateMany({ where: { ...scope, revokedAt: null }, data: { revokedAt: now } });
      if (count === 0) return undefined;
      await this.events.record({ actor, action: 'token.revoke', objectType: 'registration-token', objectId: tokenId, outcome: 'success' }, tx);
      return tx.registrationToken.findUniqueOrThrow({ where: { id: tokenId } });
    });
    if (row) return this.present(row, now);
    if (await this.db.registrationToken.findFirst({ where: scope })) {
      throw conflict('TOKEN_ALREADY_REVOKED', `token ${tokenId} is already revoked`);
    }
    throw tokenNotFound(tokenId);
  }

  /**
   * The token's signature and claims, in process (no database): a forged or malformed token costs a
   * registration nothing more.
   */
  verify(idToken: string): VerifiedToken {
    const known = this.verified.get(idToken);
    if (known) return known;
    const claims = this.jwt.verify<RegistrationClaims>(idToken, 'slm:registration', { ignoreExpiration: true });
    if (typeof claims.jti !== 'string' || !UUID_PATTERN.test(claims.jti) || typeof claims.va !== 'string' || typeof claims.exp !== 'number') {
      throw invalidToken();
    }
    const token = { tokenId: claims.jti, virtualAccountId: claims.va, expiresAtSeconds: claims.exp };
    // The same text always verifies the same way (expiry, revocation and uses are checked apart, in
    // the database): many products registering with one token skip the signature check. Only tokens
    // we signed get here, so a sender cannot fill this; a full map starts over.
    if (this.verified.size >= MAX_VERIFIED_TOKENS) this.verified.clear();
    this.verified.set(idToken, token);
    return token;
  }

  /**
   * The token as a registration with it shows it, if it is usable now (not revoked, not expired, its
   * account active, uses left), as one row; none otherwise, and no query at all once the token itself
   * has expired (then `refuse` says why). A registration
   * reads it with the message's other preflight state, before any expensive work; only a read: the
   * use itself (slm_use_token) decides.
   */
  usableTokenQuery(token: VerifiedToken, now: Date): Prisma.Sql | undefined {
    if (pastItsExpiry(token, now)) return undefined;
    return Prisma.sql`
      SELECT t.id::text AS "tokenId", t.virtual_account_id::text AS "virtualAccountId", va.name AS "virtualAccountName",
             a.id::text AS "accountId", a.name AS "accountName", a.smart_account AS "smartAccount", t.export_controlled AS "exportControlled"
        FROM registration_token t JOIN virtual_account va ON va.id = t.virtual_account_id JOIN local_account a ON a.id = va.account_id
       WHERE t.id = ${token.tokenId}::uuid AND t.virtual_account_id = ${token.virtualAccountId}::uuid
         AND t.revoked_at IS NULL AND t.expires_at > ${now}
         AND a.status = 'ACTIVE' AND t.uses < t.max_uses`;
  }

  /**
   * Uses the token once for a registration, inside the caller's transaction so that a failed
   * registration gives the use back (slm_use_token: one conditional UPDATE; concurrent uses queue
   * on the row lock and re-check, so a token is never used more often than allowed). The row lock
   * is held until the caller commits.
   */
  async consume(tx: SqlTx, idToken: string | VerifiedToken, now: Date): Promise<ConsumedToken> {
    const token = typeof idToken === 'string' ? this.verify(idToken) : idToken;
    const [used] = !pastItsExpiry(token, now)
      ? await tx.$queryRaw<ConsumedToken[]>`SELECT * FROM slm_use_token(${token.tokenId}::uuid, ${token.virtualAccountId}::uuid, ${now})`
      : [];
    return used ?? this.refuse(tx, token, now);
  }

  /** Throws why the token cannot be used, in the order the checks are documented (TOKEN_EXHAUSTED if nothing else). */
  async refuse(db: SqlTx, token: VerifiedToken, now: Date): Promise<never> {
    const [row] = await db.$queryRaw<{ virtualAccountId: string; revokedAt: Date | null; expiresAt: Date; accountName: string; accountStatus: string }[]>`
      SELECT t.virtual_account_id::text AS "virtualAccountId", t.revoked_at AS "revokedAt", t.expires_at AS "expiresAt", a.name AS "accountName", a.status::text AS "accountStatus"
        FROM registration_token t JOIN virtual_account va ON va.id = t.virtual_account_id JOIN local_account a ON a.id = va.account_id
       WHERE t.id = ${token.tokenId}::uuid`;
    if (!row || row.virtualAccountId !== token.virtualAccountId) throw invalidToken();
    if (row.revokedAt) throw unauthorized('TOKEN_REVOKED', 'the registration token was revoked');
    // The stored expiry wins over the JWT's: the row is what the admin sees and may shorten.
    if (pastItsExpiry(token, now) || row.expiresAt.getTime() <= now.getTime()) throw unauthorized('TOKEN_EXPIRED', 'the registration token has expired');
    if (row.accountStatus !== 'ACTIVE') throw forbidden('ACCOUNT_INACTIVE', `the token's account ${row.accountName} is not active`);
    throw unauthorized('TOKEN_EXHAUSTED', 'the registration token has no uses left');
  }

  /** Re-signs the token with its original jti, iat and exp, so admins can copy it again (as SSM shows it). */
  private present(row: TokenRow, now: Date) {
    const { issuedAtSeconds, lifetimeSeconds } = storedTokenTimes(row);
    return { ...metadata(row, now), token: this.jwt.sign({ va: row.virtualAccountId, iat: issuedAtSeconds }, 'slm:registration', lifetimeSeconds, row.id) };
  }
}

/** What anyone who may list tokens sees; the token string is added only for those who may use it. */
function metadata(row: TokenRow, now: Date) {
  return {
    id: row.id,
    description: row.description,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy,
    expiresAt: row.expiresAt.toISOString(),
    maxUses: row.maxUses,
    uses: row.uses,
    usesLeft: Math.max(0, row.maxUses - row.uses),
    exportControlled: row.exportControlled,
    status: tokenStatus(row, now),
  };
}

function tokenNotFound(tokenId: string) {
  return notFound('TOKEN_NOT_FOUND', `no registration token with id ${tokenId}`);
}
