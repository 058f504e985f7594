import type { NextFunction, Request, Response } from 'express';
import { AppError, unauthorized } from '../errors';
import type { JwtService } from '../auth/jwt-service';
import { bearerToken } from '../auth/require-role';

/** Claims of an API Toolkit access token (POST /backend/oauth/token, audience `slm:api`). */
export type ApiClientClaims = { sub: string; acct: string; acctId: string };
export type ApiClientPrincipal = { clientId: string; accountName: string; accountId: string };

declare module 'express-serve-static-core' {
  interface Request {
    apiClient?: ApiClientPrincipal;
  }
}

/** API Toolkit guard: a bearer access token of an API client. */
export function requireApiClient(jwt: JwtService) {
  return (req: Request, _res: Response, next: NextFunction) => {
    try {
      const claims = jwt.verify<ApiClientClaims>(bearerToken(req), 'slm:api');
      req.apiClient = { clientId: claims.sub, accountName: claims.acct, accountId: claims.acctId };
      next();
    } catch (err) {
      if (err instanceof AppError && err.code === 'AUTHENTICATION_REQUIRED') return next(err);
      next(unauthorized('ACCESS_TOKEN_INVALID', 'the access token is missing, invalid or expired'));
    }
  };
}
