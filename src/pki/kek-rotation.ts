import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config/config';
import { openStore, type Db } from '../store/database';
import { commandGroup, OFFLINE_ADMIN } from '../cli/command-kit';
import { KeyVault } from './key-vault';

/** Re-seals every stored private key under `next`, in one transaction. Returns how many were re-sealed. */
export async function resealKeys(db: Db, current: Buffer, next: Buffer): Promise<number> {
  const from = new KeyVault(current);
  const to = new KeyVault(next);
  return db.$transaction(async (tx) => {
    const rows = await tx.keyMaterial.findMany();
    for (const row of rows) {
      await tx.keyMaterial.update({ where: { name: row.name }, data: { keyEncrypted: to.seal(from.open(row.keyEncrypted)) } });
    }
    return rows.length;
  });
}

export function registerKekCommands(program: Command): void {
  commandGroup(program, ...OFFLINE_ADMIN)
    .command('rotate-kek')
    .description('re-encrypt the stored private keys under a new key-encryption key; stop the server first')
    .action(async () => {
      const config = loadConfig();
      const next = randomBytes(32);
      const kekFile = path.join(config.dataDir, 'kek');
      const fromFile = !process.env.SLM_KEK;
      // Written before the database changes, so that a crash in between leaves the new key on disk.
      const pending = `${kekFile}.next`;
      if (fromFile) writeFileSync(pending, `${next.toString('base64')}\n`, { mode: 0o600 });
      const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 });
      let count: number;
      try {
        count = await resealKeys(store.prisma, config.kek, next);
      } finally {
        await store.close();
      }
      if (fromFile) {
        renameSync(pending, kekFile);
        console.log(`Re-encrypted ${count} private keys; the new key-encryption key is in ${kekFile}.`);
      } else {
        console.log(`Re-encrypted ${count} private keys. Set SLM_KEK=${next.toString('base64')} before starting the server again.`);
      }
      if (existsSync(path.join(config.dataDir, 'ha'))) console.log('Cluster: redistribute the key with `slm ha generatekeys --force` and import it on the other node (docs/security.md).');
    });
}
