import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { type CommonOpts, action, apiFor, output, readSecret, withApiOptions } from '../cli/command-kit';

type User = { username: string; role: string; createdAt: string };
const ROLES = ['admin', 'operator'];
const userPath = (name: string) => `/api/v1/users/${encodeURIComponent(name)}`;
const row = (u: User) => ({ username: u.username, role: u.role, createdAt: u.createdAt });

function checkRole(role: string): string {
  if (!ROLES.includes(role)) throw new Error(`role must be admin or operator, got "${role}"`);
  return role;
}

/** --new-password, else $SLM_NEW_PASSWORD, else asked on the terminal (not echoed). */
async function newPassword(opts: { newPassword?: string }): Promise<string> {
  const given = opts.newPassword ?? process.env.SLM_NEW_PASSWORD;
  if (given) return given;
  const first = await readSecret('New password: ');
  if ((await readSecret('Again: ')) !== first) throw new Error('the two passwords differ; nothing was changed');
  return first;
}

/** `slm users list|create|delete|role` and `slm password`. */
export function registerUserCommands(program: Command): void {
  const users = program.command('users').description('admin users (admin role: read and write; operator: read only)');

  withApiOptions(users.command('list').description('list users'))
    .action(action(async (opts: CommonOpts) => {
      const res = await apiFor(opts).call<{ users: User[] }>('GET', '/api/v1/users');
      output(opts, res, res.users.map(row));
    }));

  withApiOptions(users.command('create <username>').description('create a user; without --new-password one is generated and printed once'))
    .option('--role <role>', 'admin or operator', 'operator')
    .option('--new-password <password>', "the new user's password (at least 8 characters)")
    .action(action(async (username: string, opts: CommonOpts & { role: string; newPassword?: string }) => {
      const password = opts.newPassword ?? randomBytes(12).toString('base64url');
      const user = await apiFor(opts).call<User>('POST', '/api/v1/users', { username, password, role: checkRole(opts.role) });
      const shown = opts.newPassword ? user : { ...user, password };
      output(opts, shown, [opts.newPassword ? row(user) : { ...row(user), password }]);
    }));

  withApiOptions(users.command('delete <username>').description('delete a user (not yourself, not the last admin)'))
    .action(action(async (username: string, opts: CommonOpts) => {
      await apiFor(opts).call('DELETE', userPath(username));
      output(opts, { deleted: username }, [{ deleted: username }]);
    }));

  withApiOptions(users.command('role <username> <role>').description('change the role of a user (admin or operator)'))
    .action(action(async (username: string, role: string, opts: CommonOpts) => {
      const user = await apiFor(opts).call<User>('PATCH', userPath(username), { role: checkRole(role) });
      output(opts, user, [row(user)]);
    }));

  withApiOptions(
    program
      .command('password [username]')
      .description('change your own password (asks for the new one), or, as an admin, reset the password of <username>'),
  )
    .option('--new-password <password>', 'the new password (default: $SLM_NEW_PASSWORD, else asked)')
    .action(action(async (username: string | undefined, opts: CommonOpts & { newPassword?: string }) => {
      const api = apiFor(opts);
      const next = await newPassword(opts);
      if (username && username !== opts.user) {
        await api.call('PUT', `${userPath(username)}/password`, { newPassword: next });
        output(opts, { username, passwordReset: true }, [{ username, passwordReset: 'yes' }]);
        return;
      }
      const current = opts.password ?? process.env.SLM_ADMIN_PASSWORD;
      await api.call('PUT', '/api/v1/users/me/password', { currentPassword: current, newPassword: next });
      output(opts, { username: opts.user, passwordChanged: true }, [{ username: opts.user, passwordChanged: 'yes' }]);
      if (!opts.json && process.env.SLM_ADMIN_PASSWORD) console.error('Update SLM_ADMIN_PASSWORD: it still holds the old password.');
    }));
}
