import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const INITIAL_PASSWORD_FILE = 'initial-admin-password';

/**
 * Hands the generated bootstrap password to the operator without putting it into the log stream
 * (journal, docker logs): a file only the server's user can read, and the terminal when there is one.
 */
export function handOverInitialPassword(dataDir: string, password: string, tty: NodeJS.WriteStream | undefined): string {
  const file = path.join(dataDir, INITIAL_PASSWORD_FILE);
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  chmodSync(file, 0o600); // an older file keeps its mode on overwrite
  tty?.write(`\nBootstrap admin created: username "admin", password "${password}" (also in ${file})\n\n`);
  return file;
}
