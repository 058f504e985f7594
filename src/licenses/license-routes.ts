import { Router } from 'express';
import type { AppContext } from '../app-context';
import { requireRole } from '../auth/require-role';
import { presentAdminAlert, presentLicense } from './present';

/** Admin API: license positions and alerts of an account (operator) and the entitlement-file import (admin). */
export function licenseRoutes(ctx: AppContext): Router {
  const router = Router();
  const operator = requireRole(ctx.sessions, 'operator');
  const admin = requireRole(ctx.sessions, 'admin');

  router.get('/api/v1/accounts/:account/licenses', operator, async (req, res) => {
    const virtualAccount = typeof req.query.virtualAccount === 'string' ? req.query.virtualAccount : undefined;
    const rows = await ctx.licenses.accountLicenses(String(req.params.account), { virtualAccount, limit: -1 });
    res.json({ licenses: rows.map(presentLicense) });
  });
  router.get('/api/v1/accounts/:account/alerts', operator, async (req, res) => {
    const virtualAccount = typeof req.query.virtualAccount === 'string' ? req.query.virtualAccount : undefined;
    const alerts = await ctx.licenses.accountAlerts(String(req.params.account), { virtualAccount, limit: -1 });
    res.json({ alerts: alerts.map(presentAdminAlert) });
  });
  router.post('/api/v1/licenses/import', admin, async (req, res) => {
    res.json(await ctx.licenses.importEntitlements(req.principal!.username, req.body));
  });
  return router;
}
