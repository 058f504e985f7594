import { Router } from 'express';
import type { AppContext } from '../app-context';
import { requireRole } from '../auth/require-role';
import type { InstanceQuery } from './product-service';

export function productRoutes(ctx: AppContext): Router {
  const router = Router();
  const operator = requireRole(ctx.sessions, 'operator');
  const admin = requireRole(ctx.sessions, 'admin');

  router.get('/api/v1/accounts/:account/virtual-accounts/:virtualAccount/product-instances', ctx.apiClients.guards.clientOrSession('read', 'operator'), async (req, res) => {
    const query: InstanceQuery = {
      page: Number(req.query.page ?? 1),
      pageSize: Number(req.query.pageSize ?? 50),
      search: typeof req.query.search === 'string' ? req.query.search : undefined,
      status: req.query.status as InstanceQuery['status'],
    };
    res.json(await ctx.products.list(String(req.params.account), String(req.params.virtualAccount), query));
  });
  router.get('/api/v1/product-instances/:id', operator, async (req, res) => {
    res.json(await ctx.products.get(String(req.params.id)));
  });
  router.delete('/api/v1/product-instances/:id', admin, async (req, res) => {
    await ctx.products.remove(req.principal!.username, String(req.params.id));
    res.status(204).end();
  });
  return router;
}
