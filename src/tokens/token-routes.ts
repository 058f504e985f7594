import { Router } from 'express';
import type { AppContext } from '../app-context';
import { requireRole } from '../auth/require-role';

export function tokenRoutes(ctx: AppContext): Router {
  const router = Router();
  const path = '/api/v1/accounts/:account/virtual-accounts/:virtualAccount/tokens';

  router.get(path, requireRole(ctx.sessions, 'operator'), async (req, res) => {
    res.json({ tokens: await ctx.tokens.list(String(req.params.account), String(req.params.virtualAccount)) });
  });
  router.post(path, requireRole(ctx.sessions, 'admin'), async (req, res) => {
    const { description, expiresInDays, maxUses, exportControlled } = req.body;
    const token = await ctx.tokens.create(req.principal!.username, String(req.params.account), String(req.params.virtualAccount), {
      description, expiresInDays, maxUses, exportControlled,
    });
    res.status(201).json(token);
  });
  router.post('/api/v1/tokens/:tokenId/revoke', requireRole(ctx.sessions, 'admin'), async (req, res) => {
    res.json(await ctx.tokens.revoke(req.principal!.username, String(req.params.tokenId)));
  });
  return router;
}
