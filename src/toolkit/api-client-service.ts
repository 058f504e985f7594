import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock';
import type { JwtService } from '../auth/jwt-service';
import type { SessionService } from '../auth/session-service';
import type { EventLog } from '../events/event-log';
import type { AccountService } from '../accounts/account-service';
import { isUniqueViolation, type Db, type SqlTx } from '../store/database';
import { hashSecret, verifySecret } from '../auth/password';
import { AppError, conflict, notFound } from '../errors';
import { type ApiClientClaims, type ApiClientPermission, type ApiClientGuards, type ClientLookup, apiClientGuards } from './api-client-auth';

/** The body of POST /backend/oauth/token (RFC 6749 section 4.4, credentials in the body). */
export type TokenRequestBody = { grant_type?: string; client_id?: string; client_secret?: string };

const oauthError = (code: string, status: number, oauth: string, message: string) => new AppError(code, status, message, { oauthError: oauth });
const invalidClient = () => oauthError('INVALID_CLIENT', 401, 'invalid_client', 'unknown client or wrong secret');
const clientNotFound = (accountName: string, clientId: string) => notFound('API_CLIENT_NOT_FOUND', `account ${accountName} has no API client ${clientId}`);
const newSecret = () => randomBytes(32).toString('base64url');
type ClientRow = { clientId: string; name: string; permission: string; createdAt: Date };
const present = (r: ClientRow, accountName: string) => ({
  clientId: r.clientId, name: r.name, accountName, permission: r.permission as ApiClientPermission, createdAt: r.createdAt.toISOString(),
});

/** API Toolkit clients of a local account and the OAuth 2.0 client-credentials grant. */
export class ApiClientService {
  // Checked against when the client id is unknown, so a wrong id costs as long as a wrong secret.
  private decoyHash?: Promise<string>;
  /** Route guards of the API Toolkit paths (see api-client-auth.ts). */
  readonly guards: ApiClientGuards;

  constructor(
    private readonly db: Db,
    private readonly jwt: JwtService,
    sessions: SessionService,
    private readonly accounts: AccountService,
    private readonly events: EventLog,
    private readonly clock: Clock,
    private readonly accessTokenTtlSeconds: number,
    /** Raw reads outside a transaction (Store.sql): the guards look the client up on every API Toolkit call. */
    private readonly sql: SqlTx = db,
  ) {
    this.guards = apiClientGuards({ jwt, sessions, lookup: (clientId) => this.lookup(clientId) });
  }

  /** Creates a client; the secret is returned here once and only its hash is kept. */
  async create(actor: string, accountName: string, input: { name: string; permission?: ApiClientPermission }) {
    const { accountId } = await this.accounts.resolveAccount(accountName);
    const clientId = randomBytes(16).toString('hex');
    const clientSecret = newSecret();
    const secretHash = await hashSecret(clientSecret);
    const permission = input.permission ?? 'read';
    try {
      const created = await this.db.$transaction(async (tx) => {
        const row = await tx.apiClient.create({ data: { clientId, secretHash, name: input.name, accountId, permission, createdAt: this.clock() } });
        await this.events.record({
          actor, action: 'api-client.create', objectType: 'api-client', objectId: clientId, outcome: 'success', details: { account: accountName, name: input.name, permission },
        }, tx);
        return row;
      });
      return { ...present(created, accountName), clientSecret };
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('API_CLIENT_EXISTS', `account ${accountName} already has an API client named ${input.name}`);
      throw err;
    }
  }

  async list(accountName: string) {
    const { accountId } = await this.accounts.resolveAccount(accountName);
    const rows = await this.db.apiClient.findMany({ where: { accountId }, orderBy: { name: 'asc' } });
    return rows.map((r) => present(r, accountName));
  }

  /** Deletes a client; its access tokens stop working at once (the guards look the client up on every call). */
  async remove(actor: string, accountName: string, clientId: string): Promise<void> {
    const { accountId } = await this.accounts.resolveAccount(accountName);
    await this.db.$transaction(async (tx) => {
      const { count } = await tx.apiClient.deleteMany({ where: { clientId, accountId } });
      if (count === 0) throw clientNotFound(accountName, clientId);
      await this.events.record({ actor, action: 'api-client.delete', objectType: 'api-client', objectId: clientId, outcome: 'success', details: { account: accountName } }, tx);
    });
  }

  /** A new secret, shown once; the old secret and every access token issued with it stop working. */
  async rotateSecret(actor: string, accountName: string, clientId: string) {
    const { accountId } = await this.accounts.resolveAccount(accountName);
    const clientSecret = newSecret();
    const secretHash = await hashSecret(clientSecret);
    await this.db.$transaction(async (tx) => {
      const { count } = await tx.apiClient.updateMany({ where: { clientId, accountId }, data: { secretHash, generation: { increment: 1 } } });
      if (count === 0) throw clientNotFound(accountName, clientId);
      await this.events.record({ actor, action: 'api-client.rotate-secret', objectType: 'api-client', objectId: clientId, outcome: 'success', details: { account: accountName } }, tx);
    });
    return { clientId, clientSecret };
  }

  private async lookup(clientId: string): ReturnType<ClientLookup> {
    const [row] = await this.sql.$queryRaw<{ accountId: string; accountActive: boolean; permission: ApiClientPermission; generation: number }[]>`
      SELECT c.account_id::text AS "accountId", a.status = 'ACTIVE' AS "accountActive", c.permission, c.generation
        FROM api_client c JOIN local_account a ON a.id = c.account_id
       WHERE c.client_id = ${clientId}`;
    return row;
  }


  /**
   * Client-credentials grant. Errors carry RFC 6749 names: unsupported_grant_type and
   * invalid_request (400), invalid_client (401), and unauthorized_client (400) when the
   * client's account is not active.
   */
  async issueAccessToken(body: TokenRequestBody) {
    if (!body.grant_type) throw oauthError('INVALID_REQUEST', 400, 'invalid_request', 'grant_type is required');
    if (body.grant_type !== 'client_credentials') {
      throw oauthError('UNSUPPORTED_GRANT_TYPE', 400, 'unsupported_grant_type', 'only the client_credentials grant is supported');
    }
    if (!body.client_id || !body.client_secret) throw oauthError('INVALID_REQUEST', 400, 'invalid_request', 'client_id and client_secret are required');
    const client = await this.db.apiClient.findUnique({ where: { clientId: body.client_id }, include: { account: true } });
    const secretMatches = await verifySecret(body.client_secret, client?.secretHash ?? (await this.decoy()));
    if (!client || !secretMatches) {
      // Only failures against a real client are logged: unknown ids would let anyone fill the log.
      if (client) await this.events.record({ actor: client.clientId, action: 'api-client.token', objectType: 'api-client', objectId: client.clientId, outcome: 'failure' });
      throw invalidClient();
    }
    if (client.account.status !== 'ACTIVE') {
      throw oauthError('ACCOUNT_INACTIVE', 400, 'unauthorized_client', `the client's account ${client.account.name} is not active`);
    }
    const claims: ApiClientClaims = { sub: client.clientId, acct: client.account.name, acctId: client.accountId, gen: client.generation };
    return {
      access_token: this.jwt.sign(claims, 'slm:api', this.accessTokenTtlSeconds),
      token_type: 'Bearer' as const,
      expires_in: this.accessTokenTtlSeconds,
    };
  }

  private decoy(): Promise<string> {
    return (this.decoyHash ??= hashSecret(randomBytes(32).toString('base64url')));
  }
}
