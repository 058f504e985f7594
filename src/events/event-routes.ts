import { Router } from 'express';
import type { AppContext } from '../app-context';
import { requireRole } from '../auth/require-role';

export function eventRoutes(ctx: AppContext): Router {
  const router = Router();
  router.get('/api/v1/events', requireRole(ctx.sessions, 'operator'), async (req, res) => {
    const page = Number(req.query.page ?? 1);
    const pageSize = Number(req.query.pageSize ?? 50);
    const text = (name: string) => (typeof req.query[name] === 'string' ? (req.query[name] as string) : undefined);
    res.json(await ctx.events.list(page, pageSize, { action: text('action'), actor: text('actor'), object: text('object') }));
  });
  return router;
}
