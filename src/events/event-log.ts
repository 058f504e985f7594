import type { Db } from '../store/database';
import type { Prisma } from '../generated/prisma/client';

export type EventEntry = {
  actor: string;
  action: string;
  objectType: string;
  objectId?: string | null;
  outcome: 'success' | 'failure';
  details?: Record<string, unknown>;
};
type Tx = Pick<Db, 'eventLog'>;

/** The audit trail of admin actions, newest first. */
export class EventLog {
  constructor(private readonly db: Db) {}

  /** Pass a transaction client to record the event atomically with the change it describes. */
  async record(entry: EventEntry, tx: Tx = this.db): Promise<void> {
    await tx.eventLog.create({
      data: { ...entry, details: entry.details as Prisma.InputJsonValue | undefined },
    });
  }

  async list(page: number, pageSize: number, filter: { action?: string } = {}) {
    const where = filter.action ? { action: filter.action } : {};
    const [total, rows] = await Promise.all([
      this.db.eventLog.count({ where }),
      this.db.eventLog.findMany({ where, orderBy: { id: 'desc' }, skip: (page - 1) * pageSize, take: pageSize }),
    ]);
    return {
      page,
      pageSize,
      total,
      events: rows.map((r) => ({
        id: r.id.toString(),
        at: r.at.toISOString(),
        actor: r.actor,
        action: r.action,
        objectType: r.objectType,
        objectId: r.objectId,
        outcome: r.outcome,
        details: r.details ?? undefined,
      })),
    };
  }
}
