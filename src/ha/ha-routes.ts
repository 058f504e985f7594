import { Router } from 'express';
import type { SessionService } from '../auth/session-service';
import { requireRole } from '../auth/require-role';
import type { HaView } from './ha-view';

/** The endpoints a Standby still serves: role for load balancers, HA status and system information. */
export const STANDBY_PATHS = new Set(['/healthz', '/ha/role', '/api/v1/ha/status', '/api/v1/system/info']);

export function haRoutes(deps: { sessions: SessionService; ha: HaView }): Router {
  const router = Router();
  const operator = requireRole(deps.sessions, 'operator');

  // Unauthenticated on purpose: load balancers and keepalived-style checks poll it.
  router.get('/ha/role', (_req, res) => {
    const role = deps.ha.role();
    res.status(role === 'standby' ? 503 : 200).json({ role, vip: deps.ha.vipAddress() ?? null });
  });
  router.get('/api/v1/ha/status', operator, async (_req, res) => {
    res.json(await deps.ha.status());
  });
  router.get('/api/v1/system/info', operator, (_req, res) => {
    res.json(deps.ha.systemInfo());
  });
  return router;
}
