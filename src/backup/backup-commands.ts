import type { Command } from 'commander';
import { createReadStream, createWriteStream, existsSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { action, apiFor, output, withApiOptions, type CommonOpts } from '../cli/command-kit';
import { loadConfig } from '../config/config';
import { openPglite } from '../store/embedded';
import { pgRunner, pgliteRunner, type SqlRunner } from '../store/sql-runner';
import { inspectBackup, restoreBackup, RestoreError } from './backup-restore';

const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(1);

export function registerBackupCommands(program: Command): void {
  withApiOptions(
    program
      .command('backup')
      .description('write a consistent backup of the whole store of the running server to FILE (keys stay sealed; keep the KEK apart: docs/backup.md)')
      .argument('<file>', 'backup file to create (gzip)')
      .option('--force', 'replace FILE if it exists'),
  ).action(
    action(async (file: string, opts: CommonOpts & { force?: boolean }) => {
      if (existsSync(file) && !opts.force) throw new Error(`${file} exists: choose another name or pass --force`);
      const started = Date.now();
      const partial = `${file}.partial`;
      const body = await apiFor(opts).download('/api/v1/system/backup');
      try {
        // Private: the file holds password hashes and sealed keys.
        await pipeline(body, createWriteStream(partial, { mode: 0o600 }));
        const { header, tables } = await inspectBackup(createReadStream(partial).pipe(createGunzip()));
        renameSync(partial, file);
        const rows = Object.values(tables).reduce((sum, t) => sum + t.rows, 0);
        output(opts, { file: path.resolve(file), bytes: statSync(file).size, seconds: Number(seconds(started)), formatVersion: header.version, store: header.store, kekFingerprint: header.kekFingerprint, tables }, [
          { field: 'File', value: path.resolve(file) },
          { field: 'Size', value: `${(statSync(file).size / 1024 / 1024).toFixed(1)} MiB` },
          { field: 'Rows', value: `${rows} in ${Object.keys(tables).length} tables` },
          { field: 'Taken in', value: `${seconds(started)} s from the ${header.store} store` },
          { field: 'Format', value: `${header.format} v${header.version}` },
          { field: 'KEK fingerprint', value: `${header.kekFingerprint} (the KEK itself is not in the file)` },
        ]);
      } catch (err) {
        rmSync(partial, { force: true });
        throw err;
      }
    }),
  );

  program
    .command('restore')
    .description('restore a backup onto a fresh data directory or database (the server must be stopped); then start the server')
    .argument('<file>', 'backup file made by `slm backup`')
    .option('--force', 'replace the contents of a store that is not empty')
    .action(async (file: string, opts: { force?: boolean }) => {
      if (!existsSync(file)) throw new Error(`${file} does not exist`);
      // A KEK file made just now by loading the configuration would only hide the real one's absence.
      const kekFile = path.resolve(process.env.SLM_DATA_DIR || 'data', 'kek');
      const kekExisted = Boolean(process.env.SLM_KEK) || existsSync(kekFile);
      const config = loadConfig();
      const started = Date.now();
      let target: { runner: SqlRunner; close(): Promise<void> };
      if (config.databaseUrl) {
        const runner = await pgRunner(config.databaseUrl);
        target = { runner, close: () => runner.close() };
      } else {
        const embedded = await openPglite(config.dataDir);
        target = { runner: pgliteRunner(embedded.lite), close: () => embedded.close() };
      }
      try {
        const result = await restoreBackup(createReadStream(file).pipe(createGunzip()), target.runner, { kek: config.kek, force: Boolean(opts.force) });
        const rows = Object.values(result.tables).reduce((sum, t) => sum + t.rows, 0);
        console.log(`Restored ${rows} rows in ${Object.keys(result.tables).length} tables from a backup of ${result.header.createdAt} (${result.header.store} store) in ${seconds(started)} s.`);
        if (result.migratedAfter.length) console.log(`Migrated on: ${result.migratedAfter.join(', ')}`);
        console.log('Start the server now (slm serve / npm start).');
      } catch (err) {
        if (err instanceof RestoreError && !kekExisted && existsSync(kekFile)) unlinkSync(kekFile);
        throw err;
      } finally {
        await target.close();
      }
    });
}
