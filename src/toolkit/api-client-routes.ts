import { Router, type Request } from 'express';
import type { AppContext } from '../app-context';
import { AppError } from '../errors';
import { requireRole } from '../auth/require-role';
import { OAUTH_TOKEN_PATH } from '../http/error-handler';
import type { TokenRequestBody } from './api-client-service';

/**
 * Client credentials from the body (client_secret_post, what SSM integrations send) or from
 * HTTP Basic (client_secret_basic, RFC 6749 section 2.3.1, the default of many OAuth libraries);
 * sending both is refused as RFC 6749 asks.
 */
export function tokenRequestOf(req: Request): TokenRequestBody {
  const { grant_type, client_id, client_secret } = req.body ?? {};
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(req.get('authorization') ?? '');
  if (!basic) return { grant_type, client_id, client_secret };
  if (client_id !== undefined || client_secret !== undefined) {
    throw new AppError('INVALID_REQUEST', 400, 'send the client credentials either in the body or with HTTP Basic, not both', { oauthError: 'invalid_request' });
  }
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const part = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' '));
    } catch {
      return s;
    }
  };
  return colon < 0 ? { grant_type } : { grant_type, client_id: part(decoded.slice(0, colon)), client_secret: part(decoded.slice(colon + 1)) };
}

export function apiClientRoutes(ctx: AppContext): Router {
  const router = Router();

  router.get('/api/v1/accounts/:account/api-clients', requireRole(ctx.sessions, 'operator'), async (req, res) => {
    res.json({ apiClients: await ctx.apiClients.list(String(req.params.account)) });
  });
  router.post('/api/v1/accounts/:account/api-clients', requireRole(ctx.sessions, 'admin'), async (req, res) => {
    const { name, permission } = req.body;
    res.status(201).json(await ctx.apiClients.create(req.principal!.username, String(req.params.account), { name, permission }));
  });
  router.delete('/api/v1/accounts/:account/api-clients/:clientId', requireRole(ctx.sessions, 'admin'), async (req, res) => {
    await ctx.apiClients.remove(req.principal!.username, String(req.params.account), String(req.params.clientId));
    res.status(204).end();
  });
  router.post('/api/v1/accounts/:account/api-clients/:clientId/rotate-secret', requireRole(ctx.sessions, 'admin'), async (req, res) => {
    res.set('Cache-Control', 'no-store').json(await ctx.apiClients.rotateSecret(req.principal!.username, String(req.params.account), String(req.params.clientId)));
  });
  router.post(OAUTH_TOKEN_PATH, async (req, res) => {
    const token = await ctx.apiClients.issueAccessToken(tokenRequestOf(req));
    // RFC 6749 section 5.1: token responses must not be cached.
    res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' }).json(token);
  });
  return router;
}
