import { Router } from 'express';
import type { AppContext } from '../app-context';
import { OAUTH_TOKEN_PATH } from '../http/error-handler';
import { failureLimiter } from './failure-limiter';

/**
 * Failed OAuth token requests per client address: each one costs a scrypt verification, so
 * unlimited guessing is both a brute force and a CPU drain. Mounted ahead of the toolkit's routes.
 */
export function authLimitRoutes(ctx: AppContext): Router {
  const router = Router();
  router.post([OAUTH_TOKEN_PATH, '/oauth/token'], failureLimiter('too many failed token requests from this address', ctx.config.oauthMaxFailures, ctx.config.oauthWindowSeconds));
  return router;
}
