import { Router } from 'express';
import type { AppContext } from '../app-context';
import { requestActor } from '../toolkit/api-client-auth';
import { type SsmTokenRequest, type TokenRequest, fromSsmFields } from './token-rules';

type Token = Awaited<ReturnType<AppContext['tokens']['create']>>;

/** The answer SSM On-Prem automation reads (`tokenInfo.token`), with SSM's names for the expiry and export flag. */
const tokenInfo = (t: Token, expiresAfterDays: number) => ({
  tokenInfo: {
    token: t.token,
    id: t.id,
    description: t.description,
    expiresAfterDays,
    expiresAt: t.expiresAt,
    exportControlled: t.exportControlled ? 'Allowed' : 'Not Allowed',
    maxUses: t.maxUses,
    usesLeft: t.usesLeft,
    status: t.status,
    createdBy: t.createdBy,
    createdAt: t.createdAt,
  },
});

/**
 * Registration tokens, for admin sessions and for API clients of the account (api-toolkit.md).
 * Token strings go to admins and manage clients only; operators and read clients see metadata.
 */
export function tokenRoutes(ctx: AppContext): Router {
  const router = Router();
  const path = '/api/v1/accounts/:account/virtual-accounts/:virtualAccount/tokens';
  const { clientOrSession } = ctx.apiClients.guards;

  router.get(path, clientOrSession('read', 'operator'), async (req, res) => {
    const withTokens = req.apiClient ? req.apiClient.permission === 'manage' : req.principal!.role === 'admin';
    res.json({ tokens: await ctx.tokens.list(String(req.params.account), String(req.params.virtualAccount), withTokens) });
  });
  router.post(path, clientOrSession('manage', 'admin'), async (req, res) => {
    const ssm = 'expiresAfterDays' in req.body;
    const { description, expiresInDays, maxUses, exportControlled } = req.body;
    const input: TokenRequest = ssm ? fromSsmFields(req.body as SsmTokenRequest) : { description, expiresInDays, maxUses, exportControlled };
    const token = await ctx.tokens.create(requestActor(req), String(req.params.account), String(req.params.virtualAccount), input, ssm ? 'ssm' : 'ours');
    // API clients get SSM On-Prem's answer (200, tokenInfo); sessions keep ours (201, the token).
    if (req.apiClient) res.json(tokenInfo(token, input.expiresInDays));
    else res.status(201).json(token);
  });
  router.post('/api/v1/tokens/:tokenId/revoke', clientOrSession('manage', 'admin'), async (req, res) => {
    res.json(await ctx.tokens.revoke(requestActor(req), String(req.params.tokenId), req.apiClient?.accountId));
  });
  return router;
}
