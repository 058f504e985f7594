import { Router } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import type { AppContext } from '../app-context';
import { AppError } from '../errors';
import { requireRole } from '../auth/require-role';

export function userRoutes(ctx: AppContext): Router {
  const router = Router();
  const admin = requireRole(ctx.jwt, 'admin');

  // Counts failed logins only, per client address and username.
  const loginLimiter = rateLimit({
    windowMs: ctx.config.loginWindowSeconds * 1000,
    limit: ctx.config.loginMaxFailures,
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    keyGenerator: (req) => `${ipKeyGenerator(req.ip ?? '')}|${String(req.body?.username ?? '')}`,
    handler: (_req, _res, next) =>
      next(new AppError('RATE_LIMITED', 429, 'too many failed logins: try again later', {
        retryAfterSeconds: ctx.config.loginWindowSeconds,
      })),
  });

  router.post('/api/v1/auth/login', loginLimiter, async (req, res) => {
    res.json(await ctx.users.login(req.body.username, req.body.password));
  });
  router.get('/api/v1/users', admin, async (_req, res) => {
    res.json({ users: await ctx.users.list() });
  });
  router.post('/api/v1/users', admin, async (req, res) => {
    res.status(201).json(await ctx.users.create(req.principal!.username, req.body));
  });
  router.delete('/api/v1/users/:username', admin, async (req, res) => {
    await ctx.users.remove(req.principal!.username, String(req.params.username));
    res.status(204).end();
  });
  return router;
}
