import { randomBytes, randomUUID } from 'node:crypto';
import type { Db } from '../store/database';
import type { Clock } from '../clock';
import { AppError, unauthorized } from '../errors';
import type { JwtService } from './jwt-service';

export type Role = 'admin' | 'operator';
/** Who a request acts as: read from the session row and the user's current row, never from the token alone. */
export type Principal = { username: string; role: Role; sessionId: string; userId: string; expiresAt: Date };
export type OpenedSession = { token: string; csrfToken: string; expiresAt: Date; role: Role };

type SessionClaims = { sub?: string; jti?: string; csrf?: string };
type Cached = { principal: Principal; csrf: string; until: number };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_CACHED = 10_000;

/**
 * Server-side admin sessions. The JWT only names a session row; each request re-reads the row and
 * its user (through a cache of a few seconds), so a logout, deletion, demotion or password change
 * is seen by every later request of this node at once and by the other node of a cluster within
 * `cacheMs`.
 */
export class SessionService {
  private readonly cache = new Map<string, Cached>();

  constructor(
    private readonly db: Db,
    private readonly jwt: JwtService,
    private readonly clock: Clock,
    private readonly ttlSeconds: number,
    private readonly cacheMs = 2_000,
  ) {}

  async open(user: { id: string; username: string; role: string }): Promise<OpenedSession> {
    const id = randomUUID();
    const csrfToken = randomBytes(24).toString('base64url');
    const now = this.clock();
    const expiresAt = new Date(now.getTime() + this.ttlSeconds * 1000);
    await this.db.userSession.deleteMany({ where: { expiresAt: { lte: now } } });
    await this.db.userSession.create({ data: { id, userId: user.id, expiresAt } });
    // The CSRF token is bound to the session inside the signed JWT, so a cookie planted by a sibling
    // host cannot pair a session with a token the attacker knows.
    const token = this.jwt.sign({ sub: user.username, csrf: csrfToken }, 'slm:session', this.ttlSeconds, id);
    return { token, csrfToken, expiresAt, role: user.role as Role };
  }

  /** Verifies a session JWT and returns the principal with the CSRF token bound to the session. */
  async authenticate(token: string): Promise<{ principal: Principal; csrf: string }> {
    let claims: SessionClaims;
    try {
      claims = this.jwt.verify<SessionClaims>(token, 'slm:session');
    } catch (err) {
      if (err instanceof AppError && err.code === 'TOKEN_EXPIRED') throw unauthorized('SESSION_EXPIRED', 'the session has expired: log in again');
      throw unauthorized('SESSION_INVALID', 'the session token is not valid');
    }
    const sessionId = claims.jti;
    if (!sessionId || !UUID.test(sessionId) || typeof claims.sub !== 'string' || typeof claims.csrf !== 'string') {
      throw unauthorized('SESSION_INVALID', 'the session token is not valid');
    }
    const now = this.clock();
    const cached = this.cache.get(sessionId);
    if (cached && cached.until > Date.now() && cached.principal.expiresAt > now) return cached;
    let row;
    try {
      row = await this.db.userSession.findUnique({ where: { id: sessionId }, include: { user: true } });
    } catch (err) {
      // The HA status must stay readable while this node's PostgreSQL is down: a session this node
      // already checked keeps its last known state until the store answers again.
      if (cached && cached.principal.expiresAt > now) return cached;
      throw err;
    }
    // Prisma reads the session and its user in two statements: a user deleted between them (the
    // session goes with it) leaves the row without its user, which is the same answer as no row.
    if (!row?.user || row.user.username !== claims.sub) {
      this.cache.delete(sessionId);
      throw unauthorized('SESSION_REVOKED', 'the session was ended (logout, password change or user removed): log in again');
    }
    if (row.expiresAt <= now) throw unauthorized('SESSION_EXPIRED', 'the session has expired: log in again');
    const entry = {
      principal: { username: row.user.username, role: row.user.role as Role, sessionId, userId: row.userId, expiresAt: row.expiresAt },
      csrf: claims.csrf,
      until: Date.now() + this.cacheMs,
    };
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(sessionId, entry);
    return entry;
  }

  async revoke(sessionId: string): Promise<void> {
    this.cache.delete(sessionId);
    await this.db.userSession.deleteMany({ where: { id: sessionId } });
  }

  /** Ends every session of a user (password reset), or every other one (own password change). */
  async revokeUser(userId: string, keepSessionId?: string): Promise<void> {
    this.forgetUser(userId);
    await this.db.userSession.deleteMany({ where: { userId, ...(keepSessionId ? { id: { not: keepSessionId } } : {}) } });
  }

  /** Drops cached principals of a user whose role or existence changed, so this node sees it now. */
  forgetUser(userId: string): void {
    for (const [id, entry] of this.cache) if (entry.principal.userId === userId) this.cache.delete(id);
  }
}
