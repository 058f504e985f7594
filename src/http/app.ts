import { randomUUID } from 'node:crypto';
import path from 'node:path';
import express, { type Express, type Router } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import * as OpenApiValidator from 'express-openapi-validator';
import type { AppContext } from '../app-context';
import { PROJECT_ROOT } from '../config/paths';
import { errorHandler, TRANSPORT_PATHS } from './error-handler';
import { AppError } from '../errors';
import { userRoutes } from '../users/user-routes';
import { eventRoutes } from '../events/event-routes';
import { hcnRoutes } from '../hcn/hcn-routes';
import { syncRoutes } from '../sync/sync-routes';
import { licenseRoutes } from '../licenses/license-routes';
import { toolkitLicenseRoutes } from '../licenses/toolkit-routes';
import { accountRoutes } from '../accounts/account-routes';
import { tokenRoutes } from '../tokens/token-routes';
import { apiClientRoutes } from '../toolkit/api-client-routes';
import { transportRoutes } from '../transport/transport-routes';
import { productRoutes } from '../products/product-routes';
import { haRoutes } from '../ha/ha-routes';

export const OPENAPI_FILE = path.join(PROJECT_ROOT, 'openapi.yaml');
const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Feature routers, in mount order. A feature adds its router here. */
const FEATURE_ROUTES: ((ctx: AppContext) => Router)[] = [userRoutes, eventRoutes, licenseRoutes, toolkitLicenseRoutes, accountRoutes, tokenRoutes, apiClientRoutes, hcnRoutes, syncRoutes, transportRoutes, haRoutes, productRoutes];

export function createApp(ctx: AppContext): Express {
  const app = express();
  app.set('trust proxy', false);
  app.disable('x-powered-by');
  app.use(
    pinoHttp({
      logger: ctx.logger,
      genReqId: (req, res) => {
        const incoming = req.headers['x-request-id'];
        const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/ha/role' },
      // One compact line per request: serializing every header of every product message cost more
      // CPU than the message's own SQL. Successful product messages log at debug (thousands a
      // second at scale); failures and everything else stay visible at info and above.
      serializers: {
        req: (req: { id: unknown; method: string; url: string; remoteAddress?: string }) => ({ id: req.id, method: req.method, url: req.url, remoteAddress: req.remoteAddress }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      customLogLevel: (req, res, err) =>
        err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : TRANSPORT_PATHS.includes((req.url ?? '').split('?')[0]) ? 'debug' : 'info',
    }),
  );
  app.use(helmet());
  app.use(express.json({ limit: ctx.config.bodyLimit }));
  app.use(express.urlencoded({ extended: false, limit: ctx.config.bodyLimit }));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.use(
    OpenApiValidator.middleware({
      apiSpec: OPENAPI_FILE,
      validateRequests: { allowUnknownQueryParameters: false },
      validateResponses: ctx.config.validateResponses,
      ignoreUndocumented: false,
      validateSecurity: false,
    }),
  );
  for (const routes of FEATURE_ROUTES) app.use(routes(ctx));
  app.use((req) => {
    throw new AppError('NOT_FOUND', 404, `no such endpoint: ${req.method} ${req.path}`);
  });
  app.use(errorHandler(ctx.logger));
  return app;
}
