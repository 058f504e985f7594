import { Router, type Request } from 'express';
import type { AppContext } from '../app-context';
import { forbidden } from '../errors';
import { requireApiClient } from '../toolkit/api-client-auth';
import type { Page } from './license-service';
import { presentAlert, presentLicense } from './present';

/**
 * The fixed API Toolkit read endpoints (api-toolkit.md). A client reads only the account it was
 * created for; another account's name answers 403 before any lookup, so clients cannot probe
 * which accounts exist.
 */
export function toolkitLicenseRoutes(ctx: AppContext): Router {
  const router = Router();
  const client = requireApiClient(ctx.jwt);

  const ownAccount = (req: Request) => {
    const account = String(req.params.account);
    if (account !== req.apiClient!.accountName) throw forbidden('ACCOUNT_FORBIDDEN', `this API client may not read account ${account}`);
    return account;
  };
  const pageOf = (req: Request): Page => ({ limit: req.body.limit, offset: req.body.offset, virtualAccount: req.body.virtualAccount });

  router.post('/api/v1/accounts/:account/licenses', client, async (req, res) => {
    const rows = await ctx.licenses.accountLicenses(ownAccount(req), pageOf(req), ctx.clock(), req.apiClient!.accountId);
    res.json({ licenses: rows.map(presentLicense) });
  });
  router.post('/api/v1/accounts/:account/alerts', client, async (req, res) => {
    const alerts = await ctx.licenses.accountAlerts(ownAccount(req), pageOf(req), ctx.clock(), req.apiClient!.accountId);
    res.json({ alerts: alerts.map(presentAlert) });
  });
  return router;
}
