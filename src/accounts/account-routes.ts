import { Router } from 'express';
import type { AppContext } from '../app-context';
import { requireRole } from '../auth/require-role';
import { requestActor } from '../toolkit/api-client-auth';

export function accountRoutes(ctx: AppContext): Router {
  const router = Router();
  const operator = requireRole(ctx.sessions, 'operator');
  const admin = requireRole(ctx.sessions, 'admin');
  const { clientOrSession } = ctx.apiClients.guards;

  router.get('/api/v1/accounts', operator, async (_req, res) => {
    res.json({ accounts: await ctx.accounts.list() });
  });
  router.post('/api/v1/accounts', admin, async (req, res) => {
    const { name, description, contactEmail } = req.body;
    res.status(201).json(await ctx.accounts.request(req.principal!.username, { name, description, contactEmail }));
  });
  router.get('/api/v1/accounts/:account', operator, async (req, res) => {
    res.json(await ctx.accounts.get(String(req.params.account)));
  });
  router.post('/api/v1/accounts/:account/approve', admin, async (req, res) => {
    res.json(await ctx.accounts.approve(req.principal!.username, String(req.params.account), { smartAccount: req.body?.smartAccount }));
  });
  router.post('/api/v1/accounts/:account/deactivate', admin, async (req, res) => {
    res.json(await ctx.accounts.deactivate(req.principal!.username, String(req.params.account)));
  });
  router.get('/api/v1/accounts/:account/virtual-accounts', clientOrSession('read', 'operator'), async (req, res) => {
    res.json({ virtualAccounts: await ctx.accounts.listVirtualAccounts(String(req.params.account)) });
  });
  router.post('/api/v1/accounts/:account/virtual-accounts', clientOrSession('manage', 'admin'), async (req, res) => {
    res.status(201).json(await ctx.accounts.createVirtualAccount(requestActor(req), String(req.params.account), { name: req.body.name }));
  });
  return router;
}
