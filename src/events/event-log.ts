import type { Db, SqlTx } from '../store/database';

export type EventEntry = {
  actor: string;
  action: string;
  objectType: string;
  objectId?: string | null;
  outcome: 'success' | 'failure';
  details?: Record<string, unknown>;
};

export type EventFilter = { action?: string; actor?: string; object?: string };

/** The audit trail of admin actions, newest first. */
export class EventLog {
  constructor(private readonly db: Db) {}

  /** Pass a transaction client to record the event atomically with the change it describes. */
  async record(entry: EventEntry, tx: SqlTx = this.db): Promise<void> {
    // Raw: it also runs in the product-message transaction, which is raw SQL (Store.transaction).
    await tx.$executeRaw`
      INSERT INTO event_log (actor, action, object_type, object_id, outcome, details)
      VALUES (${entry.actor}, ${entry.action}, ${entry.objectType}, ${entry.objectId ?? null}, ${entry.outcome},
              ${entry.details === undefined ? null : JSON.stringify(entry.details)}::jsonb)`;
  }

  /** `action` ending in a dot is a prefix (`user.` for every user event); other filters are exact. */
  async list(page: number, pageSize: number, filter: EventFilter = {}) {
    const where = {
      ...(filter.action ? { action: filter.action.endsWith('.') ? { startsWith: filter.action } : filter.action } : {}),
      ...(filter.actor ? { actor: filter.actor } : {}),
      ...(filter.object ? { objectId: filter.object } : {}),
    };
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
