import type { Clock } from '../clock';
import { isUniqueViolation, type Db } from '../store/database';
import type { EventLog } from '../events/event-log';
import { conflict, notFound } from '../errors';
import {
  type AccountStatus,
  type AccountTransition,
  DEFAULT_VIRTUAL_ACCOUNT,
  TARGET_STATUS,
  allowedFrom,
  assertValidName,
  invalidTransition,
} from './account-rules';

type Reader = Pick<Db, 'localAccount' | 'virtualAccount'>;
type AccountRow = {
  id: string;
  name: string;
  description: string | null;
  contactEmail: string | null;
  smartAccount: string | null;
  status: AccountStatus;
  createdAt: Date;
  approvedAt: Date | null;
};
type VirtualAccountRow = { id: string; name: string; createdAt: Date };

export type AccountRequest = { name: string; description?: string; contactEmail?: string };
export type ResolvedAccount = { accountId: string; accountName: string; accountStatus: AccountStatus; smartAccount: string | null };
export type ResolvedVirtualAccount = ResolvedAccount & { virtualAccountId: string; virtualAccountName: string };


const presentAccount = (a: AccountRow) => ({
  id: a.id,
  name: a.name,
  description: a.description,
  contactEmail: a.contactEmail,
  smartAccount: a.smartAccount,
  status: a.status,
  createdAt: a.createdAt.toISOString(),
  approvedAt: a.approvedAt?.toISOString() ?? null,
});
const presentVirtualAccount = (v: VirtualAccountRow) => ({ id: v.id, name: v.name, createdAt: v.createdAt.toISOString() });
const byName = { orderBy: { name: 'asc' as const } };

/** Local accounts (requested, approved, deactivated) and their virtual accounts. */
export class AccountService {
  constructor(
    private readonly db: Db,
    private readonly events: EventLog,
    private readonly clock: Clock,
  ) {}

  async request(actor: string, input: AccountRequest) {
    assertValidName('account', input.name);
    const now = this.clock();
    try {
      const account = await this.db.$transaction(async (tx) => {
        const created = await tx.localAccount.create({
          data: {
            name: input.name,
            description: input.description ?? null,
            contactEmail: input.contactEmail ?? null,
            createdAt: now,
            virtualAccounts: { create: { name: DEFAULT_VIRTUAL_ACCOUNT, createdAt: now } },
          },
          include: { virtualAccounts: byName },
        });
        await this.events.record({ actor, action: 'account.request', objectType: 'account', objectId: created.name, outcome: 'success' }, tx);
        return created;
      });
      return { ...presentAccount(account), virtualAccounts: account.virtualAccounts.map(presentVirtualAccount) };
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('ACCOUNT_EXISTS', `an account named ${input.name} already exists`);
      throw err;
    }
  }

  approve(actor: string, name: string, input: { smartAccount?: string } = {}) {
    return this.transition(actor, name, 'approve', {
      approvedAt: this.clock(),
      ...(input.smartAccount !== undefined ? { smartAccount: input.smartAccount } : {}),
    });
  }

  deactivate(actor: string, name: string) {
    return this.transition(actor, name, 'deactivate', {});
  }

  async list() {
    return (await this.db.localAccount.findMany(byName)).map(presentAccount);
  }

  async get(name: string) {
    const account = await this.db.localAccount.findUnique({ where: { name }, include: { virtualAccounts: byName } });
    if (!account) throw accountNotFound(name);
    return { ...presentAccount(account), virtualAccounts: account.virtualAccounts.map(presentVirtualAccount) };
  }

  async createVirtualAccount(actor: string, accountName: string, input: { name: string }) {
    assertValidName('virtual account', input.name);
    const { accountId } = await this.resolveAccount(accountName);
    try {
      const created = await this.db.$transaction(async (tx) => {
        const va = await tx.virtualAccount.create({ data: { accountId, name: input.name, createdAt: this.clock() } });
        await this.events.record({
          actor, action: 'virtual-account.create', objectType: 'virtual-account', objectId: `${accountName}/${va.name}`, outcome: 'success',
        }, tx);
        return va;
      });
      return presentVirtualAccount(created);
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('VIRTUAL_ACCOUNT_EXISTS', `account ${accountName} already has a virtual account named ${input.name}`);
      throw err;
    }
  }

  async listVirtualAccounts(accountName: string) {
    const { accountId } = await this.resolveAccount(accountName);
    return (await this.db.virtualAccount.findMany({ where: { accountId }, ...byName })).map(presentVirtualAccount);
  }

  /** The account of a name, for features that address accounts by name; 404 ACCOUNT_NOT_FOUND otherwise. */
  async resolveAccount(accountName: string, db: Reader = this.db): Promise<ResolvedAccount> {
    const a = await db.localAccount.findUnique({ where: { name: accountName } });
    if (!a) throw accountNotFound(accountName);
    return { accountId: a.id, accountName: a.name, accountStatus: a.status, smartAccount: a.smartAccount };
  }

  /** Account and virtual account of two names; 404 ACCOUNT_NOT_FOUND or VIRTUAL_ACCOUNT_NOT_FOUND otherwise. */
  async resolveVirtualAccount(accountName: string, virtualAccountName: string, db: Reader = this.db): Promise<ResolvedVirtualAccount> {
    const account = await this.resolveAccount(accountName, db);
    const va = await db.virtualAccount.findUnique({ where: { accountId_name: { accountId: account.accountId, name: virtualAccountName } } });
    if (!va) throw notFound('VIRTUAL_ACCOUNT_NOT_FOUND', `account ${accountName} has no virtual account named ${virtualAccountName}`);
    return { ...account, virtualAccountId: va.id, virtualAccountName: va.name };
  }

  /**
   * Changes the status with one conditional UPDATE, so two admins acting at once cannot both
   * pass the state check; when nothing changed, a re-read tells "unknown" from "wrong state".
   */
  private async transition(actor: string, name: string, transition: AccountTransition, changes: { approvedAt?: Date; smartAccount?: string }) {
    const status = TARGET_STATUS[transition];
    const updated = await this.db.$transaction(async (tx) => {
      const { count } = await tx.localAccount.updateMany({
        where: { name, status: { in: allowedFrom(transition) } },
        data: { status, ...changes },
      });
      if (count === 0) return undefined;
      await this.events.record({
        actor, action: `account.${transition}`, objectType: 'account', objectId: name, outcome: 'success',
        ...(changes.smartAccount !== undefined ? { details: { smartAccount: changes.smartAccount } } : {}),
      }, tx);
      return tx.localAccount.findUniqueOrThrow({ where: { name } });
    });
    if (updated) return presentAccount(updated);
    const current = await this.db.localAccount.findUnique({ where: { name } });
    if (!current) throw accountNotFound(name);
    throw invalidTransition(name, current.status, transition);
  }
}

function accountNotFound(name: string) {
  return notFound('ACCOUNT_NOT_FOUND', `no account named ${name}`);
}
