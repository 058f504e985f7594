import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import type { SqlRunner } from '../store/sql-runner';
import { applyMigrations, listMigrations, type Migration } from '../store/migrate';
import { quoteIdent } from './backup-export';
import {
  BACKUP_VERSION, headerSchema, kekFingerprint, sequenceSchema, tableEndSchema, tableStartSchema, trailerSchema,
  type BackupHeader, type TableSummary,
} from './backup-format';

/** Rows per INSERT, and characters: big enough to amortize the round trip, small enough for PGlite's memory. */
const BATCH_ROWS = 1000;
const BATCH_CHARS = 4_000_000;

export class RestoreError extends Error {
  name = 'RestoreError';
}

export type RestoreResult = { header: BackupHeader; tables: Record<string, TableSummary>; migratedAfter: string[] };

/** Lines of a backup's (already decompressed) text, one at a time. */
class Lines {
  private readonly it: AsyncIterator<string>;
  constructor(input: Readable) {
    this.it = createInterface({ input, crlfDelay: Infinity })[Symbol.asyncIterator]();
  }
  async next(): Promise<string> {
    const r = await this.it.next();
    if (r.done) throw new RestoreError('the backup file ends early: it is incomplete (was the backup interrupted?)');
    return r.value;
  }
  async json<T>(schema: z.ZodType<T>, what: string): Promise<T> {
    const line = await this.next();
    const parsed = schema.safeParse(parseLine(line));
    if (!parsed.success) throw new RestoreError(`the backup file is damaged: expected ${what}`);
    return parsed.data;
  }
}

/** Reads and checks the header: format, version, schema known to this version, the KEK. */
async function readHeader(lines: Lines, kek: Buffer): Promise<{ header: BackupHeader; schema: Migration[] }> {
  const parsed = headerSchema.safeParse(parseLine(await lines.next()));
  if (!parsed.success) throw new RestoreError('not an slm-onprem backup file (made by `slm backup`)');
  const header = parsed.data;
  if (header.version > BACKUP_VERSION) {
    throw new RestoreError(`backup format version ${header.version} is newer than this version reads (${BACKUP_VERSION}): restore with slm-onprem ${header.serverVersion} or later`);
  }
  const local = new Map(listMigrations().map((m) => [m.name, m]));
  const schema = header.migrations.map((m) => {
    const known = local.get(m.name);
    if (!known || known.checksum !== m.checksum) {
      throw new RestoreError(`the backup's schema (migration ${m.name}) is unknown to this version: restore with slm-onprem ${header.serverVersion} or later`);
    }
    return known;
  });
  if (header.kekFingerprint !== kekFingerprint(kek)) {
    throw new RestoreError(
      `the private keys in this backup are sealed with another key-encryption key (fingerprint ${header.kekFingerprint}, ` +
        `configured ${kekFingerprint(kek)}): put the original KEK in place first (the kek file of the original data ` +
        `directory, or SLM_KEK); see docs/backup.md`,
    );
  }
  return { header, schema };
}

/** The target's own tables, and whether any holds a row. */
async function targetState(runner: SqlRunner): Promise<{ tables: number; hasRows: boolean }> {
  const tables = await runner.query<{ name: string }>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'`);
  for (const t of tables) {
    const [row] = await runner.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${quoteIdent(t.name)}) AS any`);
    if (row.any) return { tables: tables.length, hasRows: true };
  }
  return { tables: tables.length, hasRows: false };
}

/**
 * Restores onto an empty store (or, with `force`, one emptied first): builds the backup's schema,
 * loads every table in one transaction, checks counts and digests against the trailer, then
 * applies this version's later migrations.
 */
export async function restoreBackup(input: Readable, runner: SqlRunner, opts: { kek: Buffer; force: boolean }): Promise<RestoreResult> {
  const lines = new Lines(input);
  const { header, schema } = await readHeader(lines, opts.kek);
  const target = await targetState(runner);
  if (target.hasRows && !opts.force) {
    throw new RestoreError('the target store is not empty: restore onto a fresh data directory or database (before the server first starts on it), or pass --force to replace its contents');
  }
  // Empty tables of a newer schema (a new embedded store starts migrated) go too: the rows are loaded
  // into the backup's own schema, then migrated on.
  if (target.tables > 0) await runner.exec('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
  await applyMigrations(runner, schema);
  const tables: Record<string, TableSummary> = {};
  await runner.exec('BEGIN');
  try {
    for (const table of header.tables) tables[table] = await loadTable(lines, runner, table);
    for (;;) {
      const value = parseLine(await lines.next());
      const seq = sequenceSchema.safeParse(value);
      if (seq.success) {
        await runner.query('SELECT setval($1::regclass, $2::bigint, $3)', [quoteIdent(seq.data.sequence), seq.data.lastValue, seq.data.isCalled]);
        continue;
      }
      const trailer = trailerSchema.safeParse(value);
      if (!trailer.success) throw new RestoreError('the backup file is damaged: expected a sequence or the trailer');
      for (const [table, summary] of Object.entries(trailer.data.tables)) {
        const got = tables[table];
        if (!got || got.rows !== summary.rows || got.sha256 !== summary.sha256) {
          throw new RestoreError(`the backup file is damaged: table ${table} does not match its checksum`);
        }
      }
      break;
    }
    await runner.exec('COMMIT');
  } catch (err) {
    await runner.exec('ROLLBACK');
    throw err;
  }
  return { header, tables, migratedAfter: await applyMigrations(runner) };
}

async function loadTable(lines: Lines, runner: SqlRunner, table: string): Promise<TableSummary> {
  const start = await lines.json(tableStartSchema, `the start of table ${table}`);
  if (start.table !== table) throw new RestoreError(`the backup file is damaged: expected table ${table}, found ${start.table}`);
  const hash = createHash('sha256');
  const insert = `INSERT INTO ${quoteIdent(table)} SELECT * FROM json_populate_recordset(NULL::${quoteIdent(table)}, $1::json)`;
  let batch: string[] = [];
  let chars = 0;
  let rows = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    // Each line is `[row]`: joined, they make one JSON array of rows.
    await runner.query(insert, [`[${batch.map((l) => l.slice(1, -1)).join(',')}]`]);
    batch = [];
    chars = 0;
  };
  for (;;) {
    const line = await lines.next();
    if (!line.startsWith('[')) {
      const end = tableEndSchema.safeParse(parseLine(line));
      if (!end.success || end.data.end !== table || end.data.rows !== rows) throw new RestoreError(`the backup file is damaged in table ${table}`);
      break;
    }
    hash.update(line + '\n');
    batch.push(line);
    chars += line.length;
    rows++;
    if (batch.length >= BATCH_ROWS || chars >= BATCH_CHARS) await flush();
  }
  await flush();
  return { rows, sha256: hash.digest('hex') };
}


/** Reads a whole backup (already decompressed) and returns its header and trailer: a complete file has both. */
export async function inspectBackup(input: Readable): Promise<{ header: BackupHeader; tables: Record<string, TableSummary> }> {
  let header: BackupHeader | undefined;
  let last = '';
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    if (header === undefined) {
      const parsed = headerSchema.safeParse(parseLine(line));
      if (!parsed.success) throw new RestoreError('not an slm-onprem backup file (made by `slm backup`)');
      header = parsed.data;
    }
    last = line;
  }
  const trailer = trailerSchema.safeParse(parseLine(last));
  if (!header || !trailer.success) throw new RestoreError('the backup file ends early: it is incomplete (was the backup interrupted?)');
  return { header, tables: trailer.data.tables };
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}
