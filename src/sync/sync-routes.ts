import { Router } from 'express';
import type { AppContext } from '../app-context';
import { requireRole } from '../auth/require-role';

export function syncRoutes(ctx: AppContext): Router {
  const router = Router();
  const admin = requireRole(ctx.jwt, 'admin');

  router.post('/api/v1/sync', admin, async (req, res) => {
    ctx.syncPause.assertNotPaused();
    res.json(await ctx.sync.runNetworkSync(req.principal!.username));
  });
  router.get('/api/v1/sync/status', requireRole(ctx.jwt, 'operator'), async (_req, res) => {
    const next = ctx.syncScheduler.nextRunAt();
    res.json({ ...(await ctx.sync.status()), intervalSeconds: ctx.config.syncIntervalSeconds, nextRunAt: next?.toISOString() ?? null });
  });
  router.post('/api/v1/sync/request-file', admin, async (req, res) => {
    res.json(await ctx.sync.createRequest(req.principal!.username, 'MANUAL'));
  });
  router.post('/api/v1/sync/response-file', admin, async (req, res) => {
    res.json(await ctx.sync.applyResponse(req.principal!.username, req.body));
  });
  return router;
}
