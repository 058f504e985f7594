import express, { type Express, type Request, type Router } from 'express';
import helmet from 'helmet';
import * as OpenApiValidator from 'express-openapi-validator';
import type { Logger } from 'pino';
import type { SessionService } from '../auth/session-service';
import { AppError } from '../errors';
import { errorHandler } from '../http/error-handler';
import { OPENAPI_FILE } from '../http/app';
import { haRoutes, STANDBY_PATHS } from './ha-routes';
import type { HaView } from './ha-view';

/** A product should retry soon: the VIP usually moves within seconds, and a longer hint would lengthen every gap. */
export const NOT_ACTIVE_RETRY_AFTER_SECONDS = 1;

/**
 * A request reaching a Standby through the VIP came on a connection opened while this node was
 * Active: the VIP has just been let go and the peer takes it within about a second (the engine's
 * switchover). Such a product is told to reconnect at once (Retry-After: 0, connection closed) and
 * paces itself on the refused connections until the peer binds; a whole second's hint there was
 * measured as 1 s added to every planned switchover gap.
 */
function retryAfterFor(req: Request, vip: string | undefined): number {
  const local = req.socket.localAddress?.replace(/^::ffff:/, '');
  return vip !== undefined && local === vip ? 0 : NOT_ACTIVE_RETRY_AFTER_SECONDS;
}

/**
 * What a Standby serves on its own address: health, role, HA status and system information.
 * Everything else is 503 NOT_ACTIVE_NODE naming the VIP, before any parsing or validation, so a
 * product gets the same answer whatever it sent.
 */
export function createStandbyApp(deps: { sessions: SessionService; ha: HaView; logger: Logger; validateResponses: boolean; metrics?: Router }): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(helmet());
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // A Standby is scraped too: its role, the cluster's status and its pool are what monitoring needs from it.
  if (deps.metrics) app.use(deps.metrics);
  app.use((req, res, next) => {
    if (STANDBY_PATHS.has(req.path) && req.method === 'GET') return next();
    const vip = deps.ha.vipAddress();
    const retryAfterSeconds = retryAfterFor(req, vip);
    if (retryAfterSeconds === 0) res.set('Connection', 'close');
    next(new AppError('NOT_ACTIVE_NODE', 503, `this node is the standby of a cluster: use the VIP ${vip}`, { retryAfterSeconds, vip }));
  });
  app.use(
    OpenApiValidator.middleware({
      apiSpec: OPENAPI_FILE,
      validateRequests: { allowUnknownQueryParameters: false },
      validateResponses: deps.validateResponses,
      ignoreUndocumented: false,
      validateSecurity: false,
    }),
  );
  app.use(haRoutes(deps));
  app.use(errorHandler(deps.logger));
  return app;
}
