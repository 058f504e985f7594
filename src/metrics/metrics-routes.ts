import { timingSafeEqual, createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { NextFunction, Request, Response } from 'express';
import { Router } from 'express';
import type { AppContext } from '../app-context';
import { AppError } from '../errors';
import { TRANSPORT_PATHS } from '../http/error-handler';
import { errorCodeOf, isWarmUp } from '../http/request-log';
import type { ServerMetrics } from './metrics';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** express's req.path; a request the product-message lane answers has only its url (an exact transport path). */
const pathOf = (req: Request) => req.path ?? req.url;

/** The route template of a request (bounded label values): never the raw URL. */
export function routeLabel(req: Request): string {
  if (req.route?.path && typeof req.route.path === 'string') return req.route.path.replace(/:(\w+)/g, '{$1}');
  if (!req.route && TRANSPORT_PATHS.includes(pathOf(req))) return pathOf(req);
  const openapi = (req as { openapi?: { openApiRoute?: string } }).openapi;
  return openapi?.openApiRoute ?? 'unmatched';
}

/** Times every request; product messages also count by type and outcome. */
export function metricsMiddleware(metrics: ServerMetrics) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (isWarmUp(req)) return next();
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.observeRequest(METHODS.has(req.method) ? req.method : 'OTHER', routeLabel(req), res.statusCode, seconds);
      if (TRANSPORT_PATHS.includes(pathOf(req))) metrics.observeProductMessage(req.body?.message, errorCodeOf(res) ?? 'OK');
    });
    next();
  };
}

const isLoopback = (address: string | undefined) => {
  if (!address) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || (isIP(a) === 4 && a.startsWith('127.'));
};
const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * `GET /metrics`. SLM_METRICS_ACCESS: `loopback` (default) lets loopback clients in and asks the
 * others for `Authorization: Bearer <SLM_METRICS_TOKEN>`; `token` asks everyone; `open` asks nobody.
 */
export function metricsRoutes(ctx: AppContext): Router {
  const router = Router();
  const { metricsAccess: access, metricsToken: token } = ctx.config;
  router.get('/metrics', async (req, res) => {
    if (access !== 'open' && !(access === 'loopback' && isLoopback(req.socket.remoteAddress))) {
      const header = req.headers.authorization ?? '';
      if (!token) throw new AppError('METRICS_FORBIDDEN', 403, 'metrics are served to loopback clients only (set SLM_METRICS_TOKEN to allow others)');
      if (!header.startsWith('Bearer ')) throw new AppError('AUTHENTICATION_REQUIRED', 401, 'metrics need Authorization: Bearer <SLM_METRICS_TOKEN>');
      if (!timingSafeEqual(digest(header.slice(7)), digest(token))) throw new AppError('INVALID_METRICS_TOKEN', 401, 'wrong metrics token');
    }
    res.set('Content-Type', ctx.metrics.registry.contentType);
    res.send(await ctx.metrics.render());
  });
  return router;
}
