import { Client } from 'pg';
import { applyMigrations, listMigrations } from '../src/store/migrate';
import { pgRunner } from '../src/store/sql-runner';
import { createTestDatabase } from './support/postgres';

describe('Migrations', () => {
  test('When applied twice, then the second run applies nothing and _prisma_migrations records each once', async () => {
    const url = await createTestDatabase();
    const runner = await pgRunner(url);
    try {
      expect(await applyMigrations(runner)).toEqual(listMigrations().map((m) => m.name));
      expect(await applyMigrations(runner)).toEqual([]);
      const rows = await runner.query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
        'SELECT migration_name, checksum, finished_at FROM "_prisma_migrations"',
      );
      expect(rows).toHaveLength(listMigrations().length);
      expect(rows.every((r) => r.finished_at !== null && r.checksum.length === 64)).toBe(true);
    } finally {
      await runner.close();
    }
  });

  test('When two servers migrate one database at once, then each migration is applied exactly once', async () => {
    const url = await createTestDatabase();
    const runners = await Promise.all([pgRunner(url), pgRunner(url)]);
    const results = await Promise.all(runners.map((r) => applyMigrations(r)));
    await Promise.all(runners.map((r) => r.close()));
    expect(results.flat().sort()).toEqual(listMigrations().map((m) => m.name).sort());
  });

  test('When an applied migration was edited, then migrating refuses with a checksum error', async () => {
    const url = await createTestDatabase();
    const runner = await pgRunner(url);
    try {
      await applyMigrations(runner);
      const edited = listMigrations().map((m, i) => (i === 0 ? { ...m, checksum: 'x'.repeat(64) } : m));
      await expect(applyMigrations(runner, edited)).rejects.toThrow(/modified after it was applied/);
    } finally {
      await runner.close();
    }
  });

  test('When a migration fails, then nothing of it stays and the error names it', async () => {
    const url = await createTestDatabase();
    const runner = await pgRunner(url);
    try {
      const broken = [{ name: '20990101000000_broken', sql: 'CREATE TABLE ok_part (id int); SELECT nonsense FROM nowhere;', checksum: 'b'.repeat(64) }];
      await expect(applyMigrations(runner, broken)).rejects.toThrow(/20990101000000_broken failed/);
      const client = new Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query("SELECT to_regclass('ok_part') AS t");
      await client.end();
      expect(rows[0].t).toBeNull();
    } finally {
      await runner.close();
    }
  });
});
