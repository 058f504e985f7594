import { Router } from 'express';
import type { AppContext } from '../app-context';
import { requireRole } from '../auth/require-role';

export function syncRoutes(ctx: AppContext): Router {
  const router = Router();
  const admin = requireRole(ctx.sessions, 'admin');

  router.post('/api/v1/sync', admin, async (req, res) => {
    ctx.syncPause.assertNotPaused();
    res.json(await ctx.sync.runNetworkSync(req.principal!.username));
  });
  router.get('/api/v1/sync/status', requireRole(ctx.sessions, 'operator'), async (_req, res) => {
    const next = ctx.syncScheduler.nextRunAt();
    res.json({ ...(await ctx.sync.status()), intervalSeconds: ctx.config.syncIntervalSeconds, nextRunAt: next?.toISOString() ?? null });
  });
  router.post('/api/v1/sync/request-file', admin, async (req, res) => {
    res.json(await ctx.sync.createRequest(req.principal!.username, 'MANUAL'));
  });
  router.post('/api/v1/sync/response-file', admin, async (req, res) => {
    res.json(await ctx.sync.applyResponse(req.principal!.username, req.body));
  });
  router.put('/api/v1/sync/upstream-key', admin, async (req, res) => {
    const key = await ctx.sync.upstreamKey.install(req.principal!.username, (req.body as { pem: string }).pem);
    res.json({ fingerprintSha256: key.fingerprintSha256, algorithm: key.algorithm, certificateSubject: key.certificateSubject, installedAt: key.installedAt, installedBy: key.installedBy });
  });
  return router;
}
