import { Prisma } from '../generated/prisma/client';
import type { Db, SqlTx } from '../store/database';
import type { Clock } from '../clock';
import { AppError } from '../errors';

export type StoredAnswer = { requestHash: string; httpStatus: number; body: unknown };
type Tx = SqlTx;

const DAY_MS = 86_400_000;
/**
 * The largest answer stored for a message. Messages are bounded (MAX_PAYLOAD_CHARS) and an
 * answer adds at most a status and the server's certificate chain to what a message says, so
 * this only guards against a change that would break that.
 */
export const MAX_STORED_ANSWER_CHARS = 256 * 1024;

/** The answer, once it is known to fit the bound above. */
export function boundedAnswer<T>(body: T): T {
  if (JSON.stringify(body).length > MAX_STORED_ANSWER_CHARS) {
    throw new AppError('ANSWER_TOO_LARGE', 413, 'the answer to this message would be too large to keep for resends: send fewer or shorter entries');
  }
  return body;
}

/**
 * Answers to product messages keyed by (sender, jti). A message first claims its key inside the
 * transaction that applies it; an identical message arriving at the same time blocks on that
 * claim and, once the first commits, finds the key taken and gets the stored answer instead of
 * applying the message again.
 */
export class IdempotencyStore {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    /** How long answers are kept: longer than any product keeps retrying one message. */
    readonly retentionMs = 7 * DAY_MS,
  ) {}

  async find(sender: string, jti: string): Promise<StoredAnswer | null> {
    return this.db.idempotencyRecord.findUnique({
      where: { sender_jti: { sender, jti } },
      select: { requestHash: true, httpStatus: true, body: true },
    });
  }

  /**
   * Claims the key and, in the same statement (one round trip), runs `then` only if the claim
   * succeeded. `then` gets the condition to put in its WHERE and returns at most one row (a lock).
   * `claimed` is false when another transaction already holds (or committed) this key.
   */
  async claimThen<T extends object>(
    tx: Tx,
    key: { sender: string; jti: string; requestHash: string },
    then: (claimed: Prisma.Sql) => Prisma.Sql,
  ): Promise<{ claimed: boolean; row: T | null }> {
    const [result] = await tx.$queryRaw<(T & { claimed: boolean })[]>`
      WITH claim AS (
        INSERT INTO idempotency_record (sender, jti, request_hash, http_status, body, created_at)
        VALUES (${key.sender}, ${key.jti}, ${key.requestHash}, 0, '{}'::jsonb, ${this.clock()})
        ON CONFLICT DO NOTHING
        RETURNING 1
      ), guarded AS (${then(Prisma.sql`EXISTS (SELECT FROM claim)`)})
      SELECT EXISTS (SELECT FROM claim) AS "claimed", guarded.* FROM (VALUES (1)) AS one (x) LEFT JOIN guarded ON true`;
    const { claimed, ...row } = result;
    return { claimed, row: claimed && Object.values(row).some((v) => v !== null) ? (row as T) : null };
  }

  async complete(tx: Tx, sender: string, jti: string, httpStatus: number, body: Prisma.InputJsonValue): Promise<void> {
    // Raw: the ORM update compiles a query plan per call, on every product message.
    await tx.$executeRaw`
      UPDATE idempotency_record SET http_status = ${httpStatus}, body = ${JSON.stringify(boundedAnswer(body))}::jsonb
       WHERE sender = ${sender} AND jti = ${jti}`;
  }

  /** Deletes answers older than the retention period; returns how many. */
  async purge(): Promise<number> {
    const cutoff = new Date(this.clock().getTime() - this.retentionMs);
    const { count } = await this.db.idempotencyRecord.deleteMany({ where: { createdAt: { lt: cutoff } } });
    return count;
  }

  /** Purges periodically without keeping the process alive; call the returned function on shutdown. */
  startCleanup(intervalMs = 60 * 60_000, onError: (err: unknown) => void = () => undefined): () => void {
    const timer = setInterval(() => {
      this.purge().catch(onError);
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}
