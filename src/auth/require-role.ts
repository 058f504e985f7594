import type { NextFunction, Request, Response } from 'express';
import { timingSafeEqual } from 'node:crypto';
import { forbidden, unauthorized } from '../errors';
import type { Principal, Role, SessionService } from './session-service';

export type { Principal, Role };

export const SESSION_COOKIE = 'slm_session';
export const CSRF_COOKIE = 'slm_csrf';
export const CSRF_HEADER = 'X-CSRF-Token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

export function bearerToken(req: Request): string {
  const header = req.get('authorization') ?? '';
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw unauthorized('AUTHENTICATION_REQUIRED', 'an Authorization: Bearer <token> header is required');
  return match[1];
}

/** One cookie's value from the Cookie header (the server sets only a few plain ASCII cookies). */
export function cookieValue(req: Request, name: string): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

const sameSecret = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * Resolves the session of a request: the Authorization header when present, else the session cookie.
 * A cookie is sent by the browser on its own, so a cookie-authenticated change must also prove
 * it comes from our page: header X-CSRF-Token equal to the CSRF token bound to the session.
 */
export async function authenticateSession(sessions: SessionService, req: Request): Promise<Principal> {
  const header = req.get('authorization');
  const cookie = header === undefined ? cookieValue(req, SESSION_COOKIE) : undefined;
  const token = cookie ?? bearerToken(req);
  const { principal, csrf } = await sessions.authenticate(token);
  if (cookie !== undefined && !SAFE_METHODS.has(req.method) && !sameSecret(req.get(CSRF_HEADER) ?? '', csrf)) {
    throw forbidden('CSRF_TOKEN_INVALID', `a session cookie needs header ${CSRF_HEADER} equal to the ${CSRF_COOKIE} cookie for this method`);
  }
  return principal;
}

/**
 * Admin API guard: a session from /api/v1/auth/login (Bearer header or cookie). `operator` may
 * read; `admin` may do everything. The role is the user's current one, not the one at login.
 */
export function requireRole(sessions: SessionService, role: Role) {
  return async (req: Request, _res: Response, next: NextFunction) => {
    req.principal = await authenticateSession(sessions, req);
    if (role === 'admin' && req.principal.role !== 'admin') throw forbidden('FORBIDDEN', 'this action needs the admin role');
    next();
  };
}
