import type { Clock } from '../clock';
import type { Db } from '../store/database';
import type { EventLog } from '../events/event-log';
import type { AccountService } from '../accounts/account-service';
import type { Prisma } from '../generated/prisma/client';
import { AppError, notFound } from '../errors';
import { instanceAlerts } from './instance-alerts';
import { assertRegistered, currentUsage, deregister, lockInstance } from '../transport/usage-ledger';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export type InstanceQuery = { page: number; pageSize: number; search?: string; status?: 'REGISTERED' | 'DEREGISTERED' };

type InstanceRow = {
  id: string;
  name: string;
  productType: string;
  udiPid: string;
  udiSn: string;
  status: string;
  lastContactAt: Date;
  certNotAfter: Date;
};

/** Admin views of product instances, and their removal by an admin. */
export class ProductService {
  constructor(
    private readonly db: Db,
    private readonly accounts: Pick<AccountService, 'resolveVirtualAccount'>,
    private readonly events: EventLog,
    private readonly clock: Clock,
  ) {}

  async list(accountName: string, virtualAccountName: string, query: InstanceQuery) {
    const va = await this.accounts.resolveVirtualAccount(accountName, virtualAccountName);
    const where: Prisma.ProductInstanceWhereInput = {
      virtualAccountId: va.virtualAccountId,
      ...(query.status ? { status: query.status } : {}),
      ...(query.search
        ? {
            OR: [
              { name: { contains: query.search, mode: 'insensitive' } },
              { udiPid: { contains: query.search, mode: 'insensitive' } },
              { udiSn: { contains: query.search, mode: 'insensitive' } },
            ],
          }
        : {}),
    };
    const [total, rows] = await Promise.all([
      this.db.productInstance.count({ where }),
      this.db.productInstance.findMany({
        where,
        orderBy: [{ name: 'asc' }, { id: 'asc' }],
        skip: (query.page - 1) * query.pageSize,
        take: query.pageSize,
      }),
    ]);
    // The licenses each instance reported last, for the whole page in one query.
    const usage = await this.db.usage.findMany({ where: { productInstanceId: { in: rows.map((r) => r.id) } }, orderBy: { tag: 'asc' } });
    const licenses = new Map<string, { tag: string; count: number }[]>(rows.map((r) => [r.id, []]));
    for (const u of usage) licenses.get(u.productInstanceId)!.push({ tag: u.tag, count: u.count });
    const now = this.clock();
    return { page: query.page, pageSize: query.pageSize, total, productInstances: rows.map((r) => ({ ...summary(r, now), licenses: licenses.get(r.id)! })) };
  }

  async get(id: string) {
    const row = UUID.test(id)
      ? await this.db.productInstance.findUnique({
          where: { id },
          include: { virtualAccount: { include: { account: true } } },
        })
      : null;
    if (!row) throw instanceNotFound(id);
    return {
      ...summary(row, this.clock()),
      account: row.virtualAccount.account.name,
      virtualAccount: row.virtualAccount.name,
      softwareVersion: row.softwareVersion,
      exportControlled: row.exportControlled,
      registeredAt: row.registeredAt.toISOString(),
      deregisteredAt: row.deregisteredAt?.toISOString() ?? null,
      certificateSerial: row.certSerial,
      usage: await currentUsage(this.db, row.id),
    };
  }

  /** Releases the instance's licenses and marks it DEREGISTERED, as if it had deregistered itself. */
  async remove(actor: string, id: string): Promise<void> {
    if (!UUID.test(id)) throw instanceNotFound(id);
    await this.db.$transaction(async (tx) => {
      const instance = await lockInstance(tx, id);
      if (!instance) throw instanceNotFound(id);
      assertRegistered(instance);
      await deregister(tx, instance, this.clock());
      await this.events.record({ actor, action: 'product.remove', objectType: 'product-instance', objectId: id, outcome: 'success' }, tx);
    });
  }
}

function summary(row: InstanceRow, now: Date) {
  return {
    id: row.id,
    name: row.name,
    productType: row.productType,
    udi: { pid: row.udiPid, sn: row.udiSn },
    status: row.status as 'REGISTERED' | 'DEREGISTERED',
    lastContactAt: row.lastContactAt.toISOString(),
    certificateExpires: row.certNotAfter.toISOString(),
    alerts: instanceAlerts(row, now),
  };
}

const instanceNotFound = (id: string): AppError => notFound('PRODUCT_INSTANCE_NOT_FOUND', `no product instance with id ${id}`);
