import { Prisma } from '../generated/prisma/client';
import type { SqlTx } from '../store/database';
import { AppError } from '../errors';

type Tx = SqlTx;
export type UsageCount = { tag: string; count: number };
export type LockedInstance = {
  id: string;
  virtualAccountId: string;
  status: 'REGISTERED' | 'DEREGISTERED';
  certNotAfter: Date;
};

/**
 * Per-instance usage and its per-virtual-account sum `usage_total`, always changed together in
 * the caller's transaction while the instance row is locked, so `usage_total` equals the sum of
 * `usage` over registered instances at every commit. Deregistered instances keep no usage rows.
 */

/**
 * Locks the instance row (by id) for the rest of the transaction: one writer per
 * instance at a time. With `contactAt` the same statement records the contact (an UPDATE locks
 * the row just as SELECT ... FOR UPDATE does, one round trip fewer per message).
 */
export async function lockInstance(tx: Tx, which: InstanceKey, contactAt?: Date): Promise<LockedInstance | null> {
  const rows = await tx.$queryRaw<LockedInstance[]>(lockInstanceStatement(which, contactAt));
  return rows[0] ?? null;
}

type InstanceKey = string;

/**
 * The statement of lockInstance, for a caller that embeds it in a larger one (as a CTE); it locks
 * only when `onlyIf` holds.
 */
export function lockInstanceStatement(which: InstanceKey, contactAt?: Date, onlyIf: Prisma.Sql = Prisma.sql`true`): Prisma.Sql {
  const where = Prisma.sql`id = ${which}::uuid`;
  const columns = Prisma.sql`id::text AS "id", virtual_account_id::text AS "virtualAccountId", status::text AS "status", cert_not_after AS "certNotAfter"`;
  return contactAt
    ? Prisma.sql`UPDATE product_instance SET last_contact_at = ${contactAt} WHERE ${where} AND ${onlyIf} RETURNING ${columns}`
    : Prisma.sql`SELECT ${columns} FROM product_instance WHERE ${where} AND ${onlyIf} FOR UPDATE`;
}

export function assertRegistered(instance: LockedInstance): void {
  if (instance.status !== 'REGISTERED') {
    throw new AppError('PRODUCT_INSTANCE_DEREGISTERED', 410, `product instance ${instance.id} was deregistered or removed: register again`);
  }
}

/**
 * Replaces the instance's report with `entitlements` and moves usage_total by the difference, in
 * one statement (slm_replace_usage: zero counts are not stored, zero totals are removed, totals
 * are locked in tag order). The caller holds the instance's row lock.
 */
export async function replaceUsage(tx: Tx, instance: LockedInstance, entitlements: UsageCount[]): Promise<void> {
  await tx.$executeRaw`
    SELECT slm_replace_usage(${instance.id}::uuid, ${instance.virtualAccountId}::uuid,
                             ${entitlements.map((e) => e.tag)}::text[], ${entitlements.map((e) => e.count)}::int[])`;
}

/** Gives back everything the instance uses (deregistration, removal). */
async function releaseUsage(tx: Tx, instance: LockedInstance): Promise<void> {
  await replaceUsage(tx, instance, []);
}

export async function currentUsage(tx: Tx, instanceId: string): Promise<UsageCount[]> {
  return tx.$queryRaw<UsageCount[]>`
    SELECT tag, count FROM usage WHERE product_instance_id = ${instanceId}::uuid ORDER BY tag`;
}

/** Releases the usage and marks the instance DEREGISTERED; later messages get PRODUCT_INSTANCE_DEREGISTERED. */
export async function deregister(tx: Tx, instance: LockedInstance, now: Date): Promise<void> {
  await releaseUsage(tx, instance);
  await tx.$executeRaw`UPDATE product_instance SET status = 'DEREGISTERED', deregistered_at = ${now} WHERE id = ${instance.id}::uuid`;
}
