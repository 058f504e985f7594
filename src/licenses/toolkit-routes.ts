import { Router, type Request } from 'express';
import type { AppContext } from '../app-context';
import type { Page } from './license-service';
import { presentAlert, presentLicense } from './present';

/**
 * The fixed API Toolkit read endpoints (api-toolkit.md), for API clients only. The guard answers
 * 403 for another account's name before any lookup, so clients cannot probe which accounts exist.
 */
export function toolkitLicenseRoutes(ctx: AppContext): Router {
  const router = Router();
  const client = ctx.apiClients.guards.clientOnly('read');
  const pageOf = (req: Request): Page => ({ limit: req.body.limit, offset: req.body.offset, virtualAccount: req.body.virtualAccount });

  router.post('/api/v1/accounts/:account/licenses', client, async (req, res) => {
    const rows = await ctx.licenses.toolkitLicenses(req.apiClient!.accountName, pageOf(req), ctx.clock(), req.apiClient!.accountId);
    res.json({ licenses: rows.map(presentLicense) });
  });
  router.post('/api/v1/accounts/:account/alerts', client, async (req, res) => {
    const alerts = await ctx.licenses.accountAlerts(req.apiClient!.accountName, pageOf(req), ctx.clock(), req.apiClient!.accountId);
    res.json({ alerts: alerts.map(presentAlert) });
  });
  return router;
}
