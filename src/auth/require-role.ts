import type { NextFunction, Request, Response } from 'express';
import { AppError, forbidden, unauthorized } from '../errors';
import type { JwtService } from './jwt-service';

export type Role = 'admin' | 'operator';
export type Principal = { username: string; role: Role };

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

/**
 * Admin API guard: a session JWT from /api/v1/auth/login. `operator` may read;
 * `admin` may do everything.
 */
export function requireRole(jwt: JwtService, role: Role) {
  return (req: Request, _res: Response, next: NextFunction) => {
    try {
      const claims = jwt.verify<{ sub: string; role: Role }>(bearerToken(req), 'slm:session');
      req.principal = { username: claims.sub, role: claims.role };
    } catch (err) {
      if (err instanceof AppError && err.code === 'TOKEN_EXPIRED') {
        return next(unauthorized('SESSION_EXPIRED', 'the session has expired: log in again'));
      }
      if (err instanceof AppError && err.code === 'AUTHENTICATION_REQUIRED') return next(err);
      return next(unauthorized('SESSION_INVALID', 'the session token is not valid'));
    }
    if (role === 'admin' && req.principal.role !== 'admin') {
      return next(forbidden('FORBIDDEN', 'this action needs the admin role'));
    }
    next();
  };
}
