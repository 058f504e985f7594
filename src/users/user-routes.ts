import { Router, type Request, type Response } from 'express';
import type { AppContext } from '../app-context';
import { AppError, unauthorized } from '../errors';
import { authenticateSession, CSRF_COOKIE, requireRole, SESSION_COOKIE } from '../auth/require-role';
import type { OpenedSession } from '../auth/session-service';
import { failureLimiter } from '../auth/failure-limiter';

const COOKIE_BASE = { secure: true, sameSite: 'strict', path: '/' } as const;

function setSessionCookies(res: Response, session: OpenedSession, ttlSeconds: number) {
  res.cookie(SESSION_COOKIE, session.token, { ...COOKIE_BASE, httpOnly: true, maxAge: ttlSeconds * 1000 });
  // Readable by the console's script, which echoes it in X-CSRF-Token.
  res.cookie(CSRF_COOKIE, session.csrfToken, { ...COOKIE_BASE, httpOnly: false, maxAge: ttlSeconds * 1000 });
}

function clearSessionCookies(res: Response) {
  res.clearCookie(SESSION_COOKIE, { ...COOKIE_BASE, httpOnly: true });
  res.clearCookie(CSRF_COOKIE, COOKIE_BASE);
}

/** A request without any credential asking about its session has none: SESSION_INVALID, not a generic 401. */
async function currentSession(ctx: AppContext, req: Request) {
  if (req.get('authorization') === undefined && req.get('cookie') === undefined) {
    throw unauthorized('SESSION_INVALID', 'there is no session: log in');
  }
  return authenticateSession(ctx.sessions, req);
}

export function userRoutes(ctx: AppContext): Router {
  const router = Router();
  const admin = requireRole(ctx.sessions, 'admin');
  const anyone = requireRole(ctx.sessions, 'operator');
  const window = ctx.config.loginWindowSeconds;
  // Failed logins per address and username (guessing one password), and per address across
  // usernames (spraying one password over many users).
  const perUser = failureLimiter('too many failed logins', ctx.config.loginMaxFailures, window, (req) => String(req.body?.username ?? ''));
  const perAddress = failureLimiter('too many failed logins from this address', ctx.config.loginMaxFailuresPerAddress, window);

  router.post('/api/v1/auth/login', perAddress, perUser, async (req, res) => {
    const session = await ctx.users.login(req.body.username, req.body.password, req.ip ?? '');
    setSessionCookies(res, session, ctx.config.sessionTtlSeconds);
    res.json({ token: session.token, tokenType: 'Bearer', expiresIn: ctx.config.sessionTtlSeconds, expiresAt: session.expiresAt.toISOString(), role: session.role });
  });
  router.post('/api/v1/auth/logout', async (req, res) => {
    try {
      const principal = await authenticateSession(ctx.sessions, req);
      await ctx.sessions.revoke(principal.sessionId);
    } catch (err) {
      // An already ended or unreadable session is logged out all the same; a missing CSRF header is not.
      if (!(err instanceof AppError && err.status === 401)) throw err;
    }
    clearSessionCookies(res);
    res.status(204).end();
  });
  router.get('/api/v1/auth/session', async (req, res) => {
    const principal = await currentSession(ctx, req);
    res.json({ username: principal.username, role: principal.role, expiresAt: principal.expiresAt.toISOString() });
  });
  router.put('/api/v1/users/me/password', anyone, async (req, res) => {
    await ctx.users.changeOwnPassword(req.principal!, req.body.currentPassword, req.body.newPassword);
    res.status(204).end();
  });
  router.get('/api/v1/users', admin, async (_req, res) => {
    res.json({ users: await ctx.users.list() });
  });
  router.post('/api/v1/users', admin, async (req, res) => {
    res.status(201).json(await ctx.users.create(req.principal!.username, req.body));
  });
  router.patch('/api/v1/users/:username', admin, async (req, res) => {
    res.json(await ctx.users.setRole(req.principal!.username, String(req.params.username), req.body.role));
  });
  router.put('/api/v1/users/:username/password', admin, async (req, res) => {
    await ctx.users.resetPassword(req.principal!.username, String(req.params.username), req.body.newPassword);
    res.status(204).end();
  });
  router.delete('/api/v1/users/:username', admin, async (req, res) => {
    await ctx.users.remove(req.principal!.username, String(req.params.username));
    res.status(204).end();
  });
  return router;
}
