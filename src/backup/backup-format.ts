import { createHmac } from 'node:crypto';
import { z } from 'zod';

/**
 * The backup file: gzip-compressed lines of text. The first line is the header (a JSON object);
 * then, per table in foreign-key order, a JSON object `{"table": ...}`, one JSON array line per row
 * (`[row]`, the row as PostgreSQL's row_to_json writes it, so types survive the round trip), and
 * `{"end": table, "rows": n}`; then one line per sequence; the last line is the trailer, without
 * which the file is incomplete. The version goes up whenever a reader of the old one would misread
 * the new one.
 */
export const BACKUP_FORMAT = 'slm-onprem-backup';
export const BACKUP_VERSION = 1;

const migration = z.object({ name: z.string(), checksum: z.string() });

export const headerSchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  version: z.number().int(),
  createdAt: z.string(),
  serverVersion: z.string(),
  store: z.enum(['embedded', 'postgresql']),
  /** The schema the rows belong to: a restore builds exactly this schema, loads, then migrates on. */
  migrations: z.array(migration),
  /** Identifies the key-encryption key that seals the private keys in the file (not the key). */
  kekFingerprint: z.string(),
  tables: z.array(z.string()),
});
export type BackupHeader = z.infer<typeof headerSchema>;

export const tableStartSchema = z.object({ table: z.string(), columns: z.array(z.string()) });
export const tableEndSchema = z.object({ end: z.string(), rows: z.number().int() });
export const sequenceSchema = z.object({ sequence: z.string(), lastValue: z.string(), isCalled: z.boolean() });

export type TableSummary = { rows: number; sha256: string };
export const trailerSchema = z.object({
  complete: z.literal(true),
  tables: z.record(z.string(), z.object({ rows: z.number().int(), sha256: z.string() })),
});
export type BackupTrailer = z.infer<typeof trailerSchema>;

/** A tag for the KEK, so a restore can tell the wrong key before it writes anything. */
export function kekFingerprint(kek: Buffer): string {
  return createHmac('sha256', kek).update('slm-onprem backup: key-encryption key fingerprint').digest('hex').slice(0, 16);
}
