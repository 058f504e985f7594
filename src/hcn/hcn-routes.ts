import { Router } from 'express';
import type { AppContext } from '../app-context';
import { requireRole } from '../auth/require-role';

export function hcnRoutes(ctx: AppContext): Router {
  const router = Router();
  router.get('/api/v1/settings/host-common-name', requireRole(ctx.sessions, 'operator'), async (_req, res) => {
    res.json(await ctx.hcn.show());
  });
  router.put('/api/v1/settings/host-common-name', requireRole(ctx.sessions, 'admin'), async (req, res) => {
    res.json(await ctx.hcn.change(req.principal!.username, req.body.name));
  });
  // The CA that issues the TLS and product ID certificates: what products and browsers are told to trust.
  router.get('/api/v1/settings/ca-certificate', requireRole(ctx.sessions, 'operator'), async (_req, res) => {
    res.set('Content-Disposition', 'attachment; filename="slm-ca.pem"').type('application/x-pem-file').send((await ctx.pki.ca()).certPem);
  });
  return router;
}
