import { randomBytes } from 'node:crypto';
import { isUniqueViolation, type Db } from '../store/database';
import { AppError, conflict, notFound, unauthorized } from '../errors';
import { hashSecret, verifySecret } from '../auth/password';
import type { Principal, Role, SessionService } from '../auth/session-service';
import type { EventLog } from '../events/event-log';
import type { FailureSampler } from '../auth/failure-sampler';

export const BOOTSTRAP_ADMIN = 'admin';
type UserRow = { id: string; username: string; role: string; createdAt: Date };
const presentUser = (u: UserRow) => ({ username: u.username, role: u.role as Role, createdAt: u.createdAt.toISOString() });
type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];

export class UserService {
  /** Verified when the username is unknown, so an unknown user costs the same scrypt as a wrong password. */
  private readonly dummyHash = hashSecret(randomBytes(16).toString('hex'));

  constructor(
    private readonly db: Db,
    private readonly sessions: SessionService,
    private readonly events: EventLog,
    private readonly loginFailures: FailureSampler,
  ) {}

  /**
   * Creates the first admin when there is no user at all. Returns the generated password
   * (to hand to the operator once) when none was configured.
   */
  async ensureBootstrapAdmin(configuredPassword?: string): Promise<{ created: boolean; generatedPassword?: string }> {
    if ((await this.db.user.count()) > 0) return { created: false };
    const password = configuredPassword ?? randomBytes(12).toString('base64url');
    const passwordHash = await hashSecret(password);
    const created = await this.db.user.createMany({
      data: [{ username: BOOTSTRAP_ADMIN, passwordHash, role: 'admin' }],
      skipDuplicates: true,
    });
    if (created.count === 0) return { created: false };
    await this.events.record({ actor: 'system', action: 'user.bootstrap', objectType: 'user', objectId: BOOTSTRAP_ADMIN, outcome: 'success' });
    return { created: true, generatedPassword: configuredPassword ? undefined : password };
  }

  async login(username: string, password: string, address: string) {
    const user = await this.db.user.findUnique({ where: { username } });
    const ok = await verifySecret(password, user?.passwordHash ?? (await this.dummyHash));
    if (!user || !ok) {
      const sample = this.loginFailures.sample(username, address);
      if (sample) await this.events.record({ actor: username, action: 'auth.login', objectType: 'user', objectId: username, outcome: 'failure', details: sample });
      throw unauthorized('INVALID_CREDENTIALS', 'wrong username or password');
    }
    return this.sessions.open(user);
  }

  async create(actor: string, input: { username: string; password: string; role: Role }) {
    const passwordHash = await hashSecret(input.password);
    try {
      const user = await this.db.user.create({ data: { username: input.username, passwordHash, role: input.role } });
      await this.events.record({ actor, action: 'user.create', objectType: 'user', objectId: user.username, outcome: 'success', details: { role: input.role } });
      return presentUser(user);
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('USER_EXISTS', `user ${input.username} already exists`);
      throw err;
    }
  }

  async list() {
    return (await this.db.user.findMany({ orderBy: { username: 'asc' } })).map(presentUser);
  }

  async remove(actor: string, username: string) {
    if (username === actor) throw new AppError('CANNOT_DELETE_SELF', 409, 'an admin cannot delete their own user');
    const removed = await this.changeAdmins(username, 'deleted', async (tx, user) => {
      await tx.user.delete({ where: { id: user.id } });
      await this.events.record({ actor, action: 'user.delete', objectType: 'user', objectId: username, outcome: 'success' }, tx);
      return user;
    }, true);
    this.sessions.forgetUser(removed.id);
  }

  async setRole(actor: string, username: string, role: Role) {
    const updated = await this.changeAdmins(username, 'demoted', async (tx, user) => {
      const next = await tx.user.update({ where: { id: user.id }, data: { role } });
      await this.events.record({ actor, action: 'user.role', objectType: 'user', objectId: username, outcome: 'success', details: { from: user.role, to: role } }, tx);
      return next;
    }, role !== 'admin');
    this.sessions.forgetUser(updated.id);
    return presentUser(updated);
  }

  /** The user's own change: proves the current password, keeps this session and ends the others. */
  async changeOwnPassword(principal: Principal, currentPassword: string, newPassword: string) {
    const user = await this.db.user.findUnique({ where: { id: principal.userId } });
    if (!user || !(await verifySecret(currentPassword, user.passwordHash))) {
      throw unauthorized('INVALID_CREDENTIALS', 'the current password is wrong');
    }
    await this.storePassword(principal.username, user.id, newPassword, principal.username, principal.sessionId);
  }

  /** An admin's reset of another user's password: every session of that user ends. */
  async resetPassword(actor: string, username: string, newPassword: string) {
    const user = await this.db.user.findUnique({ where: { username } });
    if (!user) throw notFound('USER_NOT_FOUND', `no user named ${username}`);
    await this.storePassword(username, user.id, newPassword, actor);
  }

  private async storePassword(username: string, userId: string, password: string, actor: string, keepSessionId?: string) {
    const passwordHash = await hashSecret(password);
    await this.db.$transaction(async (tx) => {
      await tx.user.update({ where: { id: userId }, data: { passwordHash } });
      await this.events.record({ actor, action: 'user.password', objectType: 'user', objectId: username, outcome: 'success' }, tx);
    });
    await this.sessions.revokeUser(userId, keepSessionId);
  }

  /**
   * Runs a change to one user under a lock on the admin rows, refusing it when it would leave no
   * admin (two admins deleting each other at once cannot both succeed). The admin rows are locked
   * in one order: two such changes locking them in different orders deadlocked (a 500).
   */
  private async changeAdmins<T>(username: string, verb: string, change: (tx: Tx, user: UserRow) => Promise<T>, removesAdmin: boolean): Promise<T> {
    return this.db.$transaction(async (tx) => {
      const admins = await tx.$queryRaw<{ username: string }[]>`SELECT username FROM app_user WHERE role = 'admin' ORDER BY id FOR UPDATE`;
      const user = await tx.user.findUnique({ where: { username } });
      if (!user) throw notFound('USER_NOT_FOUND', `no user named ${username}`);
      if (removesAdmin && user.role === 'admin' && admins.length <= 1) {
        throw conflict('LAST_ADMIN', `${username} is the last admin and cannot be ${verb}`);
      }
      return change(tx, user);
    });
  }
}
