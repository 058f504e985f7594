import type { NextFunction, Request, RequestHandler, Response } from 'express';
import jwt from 'jsonwebtoken';
import { forbidden, unauthorized } from '../errors';
import type { JwtService } from '../auth/jwt-service';
import type { SessionService } from '../auth/session-service';
import { bearerToken, requireRole, type Role } from '../auth/require-role';

/** Claims of an API Toolkit access token (POST /oauth/token, audience `slm:api`); `gen` is the client's secret generation. */
export type ApiClientClaims = { sub: string; acct: string; acctId: string; gen?: number };
export type ApiClientPermission = 'read' | 'manage';
export type ApiClientPrincipal = { clientId: string; accountName: string; accountId: string; permission: ApiClientPermission };

/** The current state of a client, looked up on every call so that deletion, rotation and deactivation act at once. */
export type ClientLookup = (clientId: string) => Promise<{ accountId: string; accountActive: boolean; permission: ApiClientPermission; generation: number } | undefined>;

declare module 'express-serve-static-core' {
  interface Request {
    apiClient?: ApiClientPrincipal;
  }
}

/** Who acts on a route that both guards serve: an API client (as `api-client:<clientId>` in the event log) or a session's user. */
export const requestActor = (req: Request) => (req.apiClient ? `api-client:${req.apiClient.clientId}` : req.principal!.username);

type Guard = { jwt: JwtService; sessions: SessionService; lookup: ClientLookup };

const invalidAccessToken = () => unauthorized('ACCESS_TOKEN_INVALID', 'the access token is missing, invalid or expired');

function isBasic(req: Request): boolean {
  return /^Basic\s/i.test(req.get('authorization') ?? '');
}

/** Only a bearer JWT whose audience says API Toolkit goes down the client path; everything else is a session's business. */
function looksLikeAccessToken(req: Request): boolean {
  const match = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
  if (!match) return false;
  const decoded = jwt.decode(match[1]);
  return typeof decoded === 'object' && decoded !== null && decoded.aud === 'slm:api';
}

const wrongKind = () => forbidden('CREDENTIALS_NOT_ACCEPTED', 'this endpoint takes an API Toolkit access token (Authorization: Bearer, from POST /oauth/token)');

/**
 * Verifies the access token and the client's current state, then the account named in the path
 * (another account answers 403 before anything of it is read, so clients cannot probe which
 * accounts exist) and the permission the operation needs.
 */
async function authenticateClient(g: Guard, req: Request, permission: ApiClientPermission): Promise<void> {
  let claims: ApiClientClaims;
  try {
    claims = g.jwt.verify<ApiClientClaims>(bearerToken(req), 'slm:api');
  } catch {
    throw invalidAccessToken();
  }
  const current = await g.lookup(claims.sub);
  if (!current || current.accountId !== claims.acctId || current.generation !== (claims.gen ?? 0) || !current.accountActive) {
    throw unauthorized('ACCESS_TOKEN_REVOKED', 'the access token was revoked: its client was deleted, its secret rotated or its account deactivated');
  }
  const principal: ApiClientPrincipal = { clientId: claims.sub, accountName: claims.acct, accountId: claims.acctId, permission: current.permission };
  const account = req.params.account;
  if (account !== undefined && account !== principal.accountName) {
    throw forbidden('ACCOUNT_FORBIDDEN', `this API client may not use account ${account}`);
  }
  if (permission === 'manage' && principal.permission !== 'manage') {
    throw forbidden('API_CLIENT_PERMISSION_DENIED', 'this API client has the read permission; the operation needs manage');
  }
  req.apiClient = principal;
}

const run = (fn: (req: Request) => Promise<void>): RequestHandler => (req: Request, _res: Response, next: NextFunction) => {
  fn(req).then(() => next(), next);
};

/**
 * Guards of the API Toolkit paths. No credentials: 401. HTTP Basic (some automation polls with it
 * until it gets 403) or a session where only clients are served: 403 CREDENTIALS_NOT_ACCEPTED.
 */
export function apiClientGuards(g: Guard) {
  return {
    /** Operations only API clients call (the fixed licenses and alerts reads). */
    clientOnly: (permission: ApiClientPermission = 'read') => run(async (req) => {
      if (looksLikeAccessToken(req)) return authenticateClient(g, req, permission);
      if (isBasic(req) || /(?:^|;\s*)slm_session=/.test(req.get('cookie') ?? '')) throw wrongKind();
      const token = bearerToken(req);
      if (isSessionToken(g.jwt, token)) throw wrongKind();
      throw invalidAccessToken();
    }),
    /** Operations shared with admin sessions: a client needs `permission`, a session `role`. */
    clientOrSession: (permission: ApiClientPermission, role: Role): RequestHandler => {
      const session = requireRole(g.sessions, role);
      const client = run((req) => authenticateClient(g, req, permission));
      return (req, res, next) => {
        if (looksLikeAccessToken(req)) return client(req, res, next);
        if (isBasic(req)) return next(wrongKind());
        return session(req, res, next);
      };
    },
  };
}
export type ApiClientGuards = ReturnType<typeof apiClientGuards>;

function isSessionToken(jwtService: JwtService, token: string): boolean {
  try {
    jwtService.verify(token, 'slm:session', { ignoreExpiration: true });
    return true;
  } catch {
    return false;
  }
}
