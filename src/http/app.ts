import path from 'node:path';
import type { RequestListener } from 'node:http';
import express, { type Router } from 'express';
import helmet from 'helmet';
import * as OpenApiValidator from 'express-openapi-validator';
import type { AppContext } from '../app-context';
import { PROJECT_ROOT } from '../config/paths';
import { openApiSpec } from './openapi-spec';
import { errorHandler, TRANSPORT_PATHS } from './error-handler';
import { rejectNulBytes } from './hostile-input';
import { productMessageLog, requestLog } from './request-log';
import { metricsMiddleware, metricsRoutes } from '../metrics/metrics-routes';
import { AppError } from '../errors';
import { userRoutes } from '../users/user-routes';
import { authLimitRoutes } from '../auth/auth-limit-routes';
import { eventRoutes } from '../events/event-routes';
import { hcnRoutes } from '../hcn/hcn-routes';
import { syncRoutes } from '../sync/sync-routes';
import { licenseRoutes } from '../licenses/license-routes';
import { toolkitLicenseRoutes } from '../licenses/toolkit-routes';
import { accountRoutes } from '../accounts/account-routes';
import { tokenRoutes } from '../tokens/token-routes';
import { apiClientRoutes } from '../toolkit/api-client-routes';
import { toolkitPathAliases } from '../toolkit/path-aliases';
import { transportRoutes } from '../transport/transport-routes';
import { productRoutes } from '../products/product-routes';
import { haRoutes } from '../ha/ha-routes';
import { consoleRoutes } from '../console/console-routes';
import { backupRoutes } from '../backup/backup-routes';

export const OPENAPI_FILE = path.join(PROJECT_ROOT, 'openapi.yaml');

/** Feature routers, in mount order. A feature adds its router here. */
const FEATURE_ROUTES: ((ctx: AppContext) => Router)[] = [authLimitRoutes, userRoutes, eventRoutes, licenseRoutes, toolkitLicenseRoutes, accountRoutes, tokenRoutes, apiClientRoutes, hcnRoutes, syncRoutes, haRoutes, productRoutes, backupRoutes];

/** The app, with product messages answered by their own lane in front of it (transport-routes.ts). */
export function createApp(ctx: AppContext): RequestListener {
  const app = express();
  app.set('trust proxy', false);
  app.disable('x-powered-by');
  const metrics = metricsMiddleware(ctx.metrics);
  const securityHeaders = helmet();
  const json = express.json({ limit: ctx.config.bodyLimit });
  // Product messages first, with the same middleware but without the ~20 layers the console and the API need.
  const transport = transportRoutes(ctx, [productMessageLog(ctx.logger), metrics, securityHeaders, json, rejectNulBytes]);
  app.use(transport.router);
  app.use(requestLog(ctx.logger));
  app.use(metrics);
  app.use(securityHeaders);
  app.use(toolkitPathAliases);
  app.use(json);
  app.use(express.urlencoded({ extended: false, limit: ctx.config.bodyLimit }));
  app.use(rejectNulBytes);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Before the validator: a text answer, and scrapes must not pay for request validation.
  app.use(metricsRoutes(ctx));
  app.use(consoleRoutes());

  app.use(
    OpenApiValidator.middleware({
      apiSpec: openApiSpec(OPENAPI_FILE) as string,
      validateRequests: { allowUnknownQueryParameters: false },
      validateResponses: ctx.config.validateResponses,
      ignoreUndocumented: false,
      validateSecurity: false,
      // The transport envelope is checked by its route (transport-routes.ts): here it cost 12% of the server's CPU per message.
      ignorePaths: (path: string) => TRANSPORT_PATHS.includes(path),
    }),
  );
  for (const routes of FEATURE_ROUTES) app.use(routes(ctx));
  app.use((req) => {
    throw new AppError('NOT_FOUND', 404, `no such endpoint: ${req.method} ${req.path}`);
  });
  app.use(errorHandler(ctx.logger));
  return transport.listener(app);
}
