import { Router } from 'express';
import type { AppContext } from '../app-context';
import { requireRole } from '../auth/require-role';
import { OAUTH_TOKEN_PATH } from '../http/error-handler';

export function apiClientRoutes(ctx: AppContext): Router {
  const router = Router();

  router.get('/api/v1/accounts/:account/api-clients', requireRole(ctx.jwt, 'operator'), async (req, res) => {
    res.json({ apiClients: await ctx.apiClients.list(String(req.params.account)) });
  });
  router.post('/api/v1/accounts/:account/api-clients', requireRole(ctx.jwt, 'admin'), async (req, res) => {
    res.status(201).json(await ctx.apiClients.create(req.principal!.username, String(req.params.account), { name: req.body.name }));
  });
  router.post(OAUTH_TOKEN_PATH, async (req, res) => {
    const { grant_type, client_id, client_secret } = req.body ?? {};
    const token = await ctx.apiClients.issueAccessToken({ grant_type, client_id, client_secret });
    // RFC 6749 section 5.1: token responses must not be cached.
    res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' }).json(token);
  });
  return router;
}
