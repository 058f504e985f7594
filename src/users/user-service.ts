import { randomBytes } from 'node:crypto';
import { isUniqueViolation, type Db } from '../store/database';
import { AppError, conflict, notFound, unauthorized } from '../errors';
import { hashSecret, verifySecret } from '../auth/password';
import type { JwtService } from '../auth/jwt-service';
import type { Role } from '../auth/require-role';
import type { EventLog } from '../events/event-log';

export const BOOTSTRAP_ADMIN = 'admin';
const presentUser = (u: { username: string; role: string; createdAt: Date }) => ({
  username: u.username,
  role: u.role as Role,
  createdAt: u.createdAt.toISOString(),
});

export class UserService {
  constructor(
    private readonly db: Db,
    private readonly jwt: JwtService,
    private readonly events: EventLog,
    private readonly sessionTtlSeconds: number,
  ) {}

  /**
   * Creates the first admin when there is no user at all. Returns the generated password
   * (to print once) when none was configured.
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

  async login(username: string, password: string) {
    const user = await this.db.user.findUnique({ where: { username } });
    if (!user || !(await verifySecret(password, user.passwordHash))) {
      await this.events.record({ actor: username, action: 'auth.login', objectType: 'user', objectId: username, outcome: 'failure' });
      throw unauthorized('INVALID_CREDENTIALS', 'wrong username or password');
    }
    const token = this.jwt.sign({ sub: user.username, role: user.role }, 'slm:session', this.sessionTtlSeconds);
    return { token, tokenType: 'Bearer', expiresIn: this.sessionTtlSeconds, role: user.role as Role };
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
    const deleted = await this.db.user.deleteMany({ where: { username } });
    if (deleted.count === 0) throw notFound('USER_NOT_FOUND', `no user named ${username}`);
    await this.events.record({ actor, action: 'user.delete', objectType: 'user', objectId: username, outcome: 'success' });
  }
}
