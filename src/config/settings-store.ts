import type { Db } from '../store/database';
import type { Prisma } from '../generated/prisma/client';

/** Server-wide settings kept in the database, so both nodes of a cluster see the same values. */
export class SettingsStore {
  constructor(private readonly db: Db) {}

  async get<T>(key: string): Promise<T | undefined> {
    const row = await this.db.setting.findUnique({ where: { key } });
    return row ? (row.value as T) : undefined;
  }

  async set<T>(key: string, value: T, tx: Pick<Db, 'setting'> = this.db): Promise<void> {
    const json = value as Prisma.InputJsonValue;
    await tx.setting.upsert({ where: { key }, create: { key, value: json }, update: { value: json } });
  }

  /** Stores the value only when the key has none yet; returns what is stored afterwards. */
  async initialize<T>(key: string, value: T): Promise<T> {
    await this.db.setting.createMany({ data: [{ key, value: value as Prisma.InputJsonValue }], skipDuplicates: true });
    return (await this.get<T>(key)) as T;
  }
}
