import { Prisma } from '../generated/prisma/client';
import { AppError } from '../errors';

type Tx = Prisma.TransactionClient;
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

/** Locks the instance row (by id or by UDI) for the rest of the transaction (one writer per instance at a time). */
export async function lockInstance(tx: Tx, which: string | { pid: string; sn: string }): Promise<LockedInstance | null> {
  const where = typeof which === 'string'
    ? Prisma.sql`id = ${which}::uuid`
    : Prisma.sql`udi_pid = ${which.pid} AND udi_sn = ${which.sn}`;
  const rows = await tx.$queryRaw<LockedInstance[]>`
    SELECT id::text AS "id", virtual_account_id::text AS "virtualAccountId", status::text AS "status",
           cert_not_after AS "certNotAfter"
    FROM product_instance WHERE ${where} FOR UPDATE`;
  return rows[0] ?? null;
}

export function assertRegistered(instance: LockedInstance): void {
  if (instance.status !== 'REGISTERED') {
    throw new AppError('PRODUCT_INSTANCE_DEREGISTERED', 410, `product instance ${instance.id} was deregistered or removed: register again`);
  }
}

/** Replaces the instance's report with `entitlements` and moves usage_total by the difference. */
export async function replaceUsage(tx: Tx, instance: LockedInstance, entitlements: UsageCount[]): Promise<void> {
  const previous = await currentUsage(tx, instance.id);
  const delta = new Map<string, number>();
  for (const { tag, count } of previous) delta.set(tag, -count);
  for (const { tag, count } of entitlements) delta.set(tag, (delta.get(tag) ?? 0) + count);
  await applyToTotals(tx, instance.virtualAccountId, delta);
  await tx.$executeRaw`DELETE FROM usage WHERE product_instance_id = ${instance.id}::uuid`;
  if (entitlements.length > 0) {
    await tx.$executeRaw`
      INSERT INTO usage (product_instance_id, tag, count)
      SELECT ${instance.id}::uuid, t.tag, t.count
      FROM unnest(${entitlements.map((e) => e.tag)}::text[], ${entitlements.map((e) => e.count)}::int[]) AS t(tag, count)`;
  }
}

/** Gives back everything the instance uses (deregistration, removal, move to another virtual account). */
export async function releaseUsage(tx: Tx, instance: LockedInstance): Promise<void> {
  await replaceUsage(tx, instance, []);
}

export async function currentUsage(tx: Tx, instanceId: string): Promise<UsageCount[]> {
  return tx.$queryRaw<UsageCount[]>`
    SELECT tag, count FROM usage WHERE product_instance_id = ${instanceId}::uuid ORDER BY tag`;
}

/** Releases the usage and marks the instance DEREGISTERED; later messages get PRODUCT_INSTANCE_DEREGISTERED. */
export async function deregister(tx: Tx, instance: LockedInstance, now: Date): Promise<void> {
  await releaseUsage(tx, instance);
  await tx.productInstance.update({ where: { id: instance.id }, data: { status: 'DEREGISTERED', deregisteredAt: now } });
}

/**
 * One statement, rows in tag order: concurrent reports that touch several common tags take the
 * usage_total row locks in the same order and cannot deadlock.
 */
async function applyToTotals(tx: Tx, virtualAccountId: string, delta: Map<string, number>): Promise<void> {
  const changes = [...delta].filter(([, d]) => d !== 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (changes.length === 0) return;
  await tx.$executeRaw`
    INSERT INTO usage_total (virtual_account_id, tag, in_use)
    SELECT ${virtualAccountId}::uuid, t.tag, t.delta
    FROM unnest(${changes.map(([tag]) => tag)}::text[], ${changes.map(([, d]) => d)}::int[]) WITH ORDINALITY AS t(tag, delta, n)
    ORDER BY t.n
    ON CONFLICT (virtual_account_id, tag) DO UPDATE SET in_use = usage_total.in_use + EXCLUDED.in_use`;
}
