import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import type { RawQuery, Store } from '../store/database';
import type { Clock } from '../clock';
import { BACKUP_FORMAT, BACKUP_VERSION, kekFingerprint, type BackupHeader, type BackupTrailer } from './backup-format';
import { PROJECT_ROOT } from '../config/paths';

/** Rows fetched per round trip from the snapshot's cursor. */
const FETCH_ROWS = 2000;

const SERVER_VERSION: string = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')).version;

/** Our tables (the migration runner's own is rebuilt by the restore), parents before children. */
export async function tablesInOrder(query: RawQuery): Promise<string[]> {
  const tables = (await query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> '_prisma_migrations' ORDER BY 1`,
  )).map((r) => r.name);
  const edges = await query<{ child: string; parent: string }>(
    `SELECT ch.relname AS child, pa.relname AS parent FROM pg_constraint k
     JOIN pg_class ch ON ch.oid = k.conrelid JOIN pg_class pa ON pa.oid = k.confrelid
     JOIN pg_namespace n ON n.oid = k.connamespace WHERE k.contype = 'f' AND n.nspname = 'public'`,
  );
  const ordered: string[] = [];
  const pending = new Set(tables);
  while (pending.size > 0) {
    const ready = [...pending].filter((t) => !edges.some((e) => e.child === t && e.parent !== t && pending.has(e.parent)));
    if (ready.length === 0) throw new Error(`foreign keys form a cycle among ${[...pending].join(', ')}`);
    for (const t of ready) {
      ordered.push(t);
      pending.delete(t);
    }
  }
  return ordered;
}

export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Writes a backup of the whole store to `out` (uncompressed lines; the caller compresses) from
 * one consistent snapshot. Private keys stay as stored: sealed with the KEK, which is not written.
 */
export async function writeBackup(store: Store, kek: Buffer, clock: Clock, out: Writable): Promise<BackupTrailer> {
  const write = async (line: string) => {
    if (!out.write(line + '\n')) await drained(out);
    if (out.destroyed) throw new Error('the backup stream was closed before the end');
  };
  return store.snapshot(async (query) => {
    const tables = await tablesInOrder(query);
    const migrations = await query<{ name: string; checksum: string }>(
      `SELECT migration_name AS name, checksum FROM "_prisma_migrations"
       WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name`,
    );
    const header: BackupHeader = {
      format: BACKUP_FORMAT, version: BACKUP_VERSION, createdAt: clock().toISOString(), serverVersion: SERVER_VERSION,
      store: store.kind, migrations, kekFingerprint: kekFingerprint(kek), tables,
    };
    await write(JSON.stringify(header));
    const trailer: BackupTrailer = { complete: true, tables: {} };
    for (const table of tables) {
      const columns = (await query<{ name: string }>(
        `SELECT attname AS name FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
        [quoteIdent(table)],
      )).map((r) => r.name);
      await write(JSON.stringify({ table, columns }));
      const key = await primaryKey(query, table);
      const hash = createHash('sha256');
      let rows = 0;
      // Ordered by the primary key, so two backups of equal stores are equal files (bar the header).
      await query(`DECLARE backup_rows NO SCROLL CURSOR FOR SELECT '[' || row_to_json(t)::text || ']' AS r FROM ${quoteIdent(table)} t ORDER BY ${key.map(quoteIdent).join(', ') || '1'}`);
      for (;;) {
        const batch = await query<{ r: string }>(`FETCH ${FETCH_ROWS} FROM backup_rows`);
        if (batch.length === 0) break;
        const text = batch.map((b) => b.r).join('\n');
        hash.update(text + '\n');
        rows += batch.length;
        await write(text);
      }
      await query('CLOSE backup_rows');
      await write(JSON.stringify({ end: table, rows }));
      trailer.tables[table] = { rows, sha256: hash.digest('hex') };
    }
    for (const seq of await query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'S' ORDER BY 1`,
    )) {
      const [state] = await query<{ last_value: string; is_called: boolean }>(`SELECT last_value::text AS last_value, is_called FROM ${quoteIdent(seq.name)}`);
      await write(JSON.stringify({ sequence: seq.name, lastValue: state.last_value, isCalled: state.is_called }));
    }
    await write(JSON.stringify(trailer));
    return trailer;
  });
}

/** Until `out` takes more, or is gone. */
function drained(out: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}

async function primaryKey(query: RawQuery, table: string): Promise<string[]> {
  const rows = await query<{ name: string }>(
    `SELECT a.attname AS name FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
     WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)`,
    [quoteIdent(table)],
  );
  return rows.map((r) => r.name);
}
