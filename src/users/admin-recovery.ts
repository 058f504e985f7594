import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../config/config';
import { openStore, type Db } from '../store/database';
import { hashSecret } from '../auth/password';
import { EventLog } from '../events/event-log';
import { BOOTSTRAP_ADMIN } from './user-service';
import { commandGroup, OFFLINE_ADMIN } from '../cli/command-kit';

/**
 * Gives `username` an admin role and a new password, creating the user when it is missing, and ends
 * all its sessions. For an operator on the node who lost every admin password: it needs the store,
 * not the API.
 */
export async function recoverAdmin(db: Db, username: string, password: string): Promise<void> {
  const passwordHash = await hashSecret(password);
  await db.$transaction(async (tx) => {
    const user = await tx.user.upsert({ where: { username }, create: { username, passwordHash, role: 'admin' }, update: { passwordHash, role: 'admin' } });
    await tx.userSession.deleteMany({ where: { userId: user.id } });
    await new EventLog(db).record({ actor: 'cli', action: 'user.recover', objectType: 'user', objectId: username, outcome: 'success' }, tx);
  });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export function registerUserRecoveryCommands(program: Command): void {
  commandGroup(program, ...OFFLINE_ADMIN)
    .command('reset-password')
    .description('set a new password for an admin user (created or promoted if needed) and end its sessions; run on the node, with the same SLM_DATA_DIR / DATABASE_URL as the server')
    .argument('[username]', 'user to recover', BOOTSTRAP_ADMIN)
    .option('--password-stdin', 'read the new password from standard input instead of generating one')
    .action(async (username: string, opts: { passwordStdin?: boolean }) => {
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(username) || username === 'me') throw new Error(`invalid username: ${username}`);
      const password = opts.passwordStdin ? await readStdin() : randomBytes(12).toString('base64url');
      if (password.length < 8 || password.length > 256 || password.includes('\u0000')) throw new Error('the password must have 8 to 256 characters');
      const config = loadConfig();
      const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 });
      try {
        await recoverAdmin(store.prisma, username, password);
      } finally {
        await store.close();
      }
      console.log(opts.passwordStdin ? `Password of admin "${username}" set; its sessions are ended.` : `Admin "${username}" now has password: ${password}`);
    });
}
