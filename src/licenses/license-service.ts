import type { Clock } from '../clock';
import type { Db, SqlTx } from '../store/database';
import { Prisma } from '../generated/prisma/client';
import type { EventLog } from '../events/event-log';
import type { SettingsStore } from '../config/settings-store';
import { forbidden, notFound } from '../errors';
import { aggregateByLicense, type LicenseTotal } from './aggregate';
import { computeLicenses, DAY_MS, type LicenseLine, type LicensePosition, type Severity } from './accounting';
import { invalidEntitlementFile, parseEntitlementFile, TAG_PATTERN, type EntitlementFault } from './entitlement-file';
import { CONTACT_WARNING_DAYS, instanceAlerts, RENEW_WARNING_DAYS } from '../products/instance-alerts';

/** Setting written by the sync feature after each successful synchronization (ISO time). */
export const SYNC_LAST_SUCCESS_KEY = 'sync.lastSuccessAt';
/** Set once on the first start; sync deadlines count from it until a first synchronization. */
export const INSTALLED_AT_KEY = 'server.installedAt';
export const IMPORT_SOURCE = 'IMPORT';

const SYNC_UPCOMING_DAYS = 30;
const SYNC_OVERDUE_DAYS = 90;

export type Compliance = 'AUTHORIZED' | 'OUT_OF_COMPLIANCE' | 'INVALID_TAG';
export type Page = { virtualAccount?: string; limit: number; offset?: number };
export type AccountLicense = LicensePosition & { virtualAccount: string };
export type Alert = {
  messageType: string;
  severity: Severity;
  source: string;
  /** null for alerts about the whole server (synchronization). */
  virtualAccount: string | null;
  message: string;
};

type Row = {
  virtualAccount: string;
  tag: string;
  displayName: string | null;
  billingType: string | null;
  quantity: number | null;
  startsAt: Date | null;
  endsAt: Date | null;
  family: string | null;
  tier: number | null;
  inUse: number | null;
};

/** What a transport `authorize` reads in its transaction after writing the new usage (see complianceOf). */
export type ComplianceSnapshot = {
  /** The virtual account's license lines, oldest first. */
  lines: (Omit<LicenseLine, 'startsAt' | 'endsAt'> & { startsAt: string | null; endsAt: string | null })[];
  /** The virtual account's in-use totals by tag. */
  inUse: Record<string, number>;
  /** Which of the reported tags some license line on this server sells. */
  sold: string[];
};

/**
 * For the transport `authorize`: OUT_OF_COMPLIANCE when the tag's balance after substitution is
 * below 0, INVALID_TAG when the tag is malformed or sold by no license line on this server,
 * AUTHORIZED otherwise.
 */
export function complianceOf(snapshot: ComplianceSnapshot, tags: string[], now: Date): Map<string, Compliance> {
  const known = new Set(snapshot.sold.filter((t) => TAG_PATTERN.test(t)));
  const lines = snapshot.lines.map((l) => ({
    ...l,
    startsAt: l.startsAt === null ? null : new Date(l.startsAt),
    endsAt: l.endsAt === null ? null : new Date(l.endsAt),
  }));
  const balances = new Map(computeLicenses(lines, new Map(Object.entries(snapshot.inUse)), now).map((p) => [p.tag, p.balance]));
  return new Map(
    tags.map((tag): [string, Compliance] => [
      tag,
      !known.has(tag) ? 'INVALID_TAG' : (balances.get(tag) ?? 0) < 0 ? 'OUT_OF_COMPLIANCE' : 'AUTHORIZED',
    ]),
  );
}

/** `limit` -1 means all (API Toolkit convention). */
const page = <T>(items: T[], { limit, offset = 0 }: Page) => items.slice(offset, limit === -1 ? undefined : offset + limit);
const SEVERITY_ORDER: Record<Severity, number> = { Major: 0, Minor: 1 };

/**
 * License balances, compliance and alerts. Usage comes from `usage_total`, which the transport
 * feature keeps in the same transaction as each product's report, and is read together with the
 * purchase lines in ONE statement, so a balance never mixes two states (PostgreSQL gives each
 * statement one snapshot) and never sums the raw usage table.
 */
export class LicenseService {
  constructor(
    private readonly db: Db,
    private readonly events: EventLog,
    private readonly settings: SettingsStore,
    private readonly clock: Clock,
    /** Raw reads outside a transaction; Store.sql spares the API Toolkit's every call Prisma's per-query compile. */
    private readonly sql: SqlTx = db,
  ) {}

  /** complianceOf, for the transport feature (which gets this service injected). */
  complianceOf(snapshot: ComplianceSnapshot, tags: string[], now: Date): Map<string, Compliance> {
    return complianceOf(snapshot, tags, now);
  }

  /**
   * Every license position of an account (or one virtual account), sorted by virtual account and
   * display name. `clientAccountId` is the account an API client was issued for: an account of
   * the same name created later is not the client's.
   */
  async accountLicenses(accountName: string, query: Page, now: Date = this.clock(), clientAccountId?: string): Promise<AccountLicense[]> {
    const { rows } = await this.scopedSnapshot(accountName, query.virtualAccount, clientAccountId);
    return page(this.positions(rows, now), query);
  }

  /**
   * The API Toolkit read: one row per license for the whole account when no virtual account is
   * named (see aggregateByLicense), the virtual account's own rows when one is.
   */
  async toolkitLicenses(accountName: string, query: Page, now: Date, clientAccountId: string): Promise<(AccountLicense | LicenseTotal)[]> {
    if (query.virtualAccount !== undefined) return this.accountLicenses(accountName, query, now, clientAccountId);
    const { rows } = await this.scopedSnapshot(accountName, undefined, clientAccountId);
    return page(aggregateByLicense(this.positions(rows, now)), query);
  }

  /** License alerts, product-instance alerts and the server's synchronization alert, Major first. */
  async accountAlerts(accountName: string, query: Page, now: Date = this.clock(), clientAccountId?: string): Promise<Alert[]> {
    const { rows, ...scope } = await this.scopedSnapshot(accountName, query.virtualAccount, clientAccountId);
    const [instances, sync] = await Promise.all([
      this.db.productInstance.findMany({
        where: {
          virtualAccount: scope.virtualAccountId ? { id: scope.virtualAccountId } : { accountId: scope.accountId },
          status: 'REGISTERED',
          OR: [
            { certNotAfter: { lte: new Date(now.getTime() + RENEW_WARNING_DAYS * DAY_MS) } },
            { lastContactAt: { lt: new Date(now.getTime() - CONTACT_WARNING_DAYS * DAY_MS) } },
          ],
        },
        select: { name: true, status: true, certNotAfter: true, lastContactAt: true, virtualAccount: { select: { name: true } } },
      }),
      this.syncAlert(now),
    ]);
    const alerts: Alert[] = this.positions(rows, now).flatMap((p) =>
      p.alerts.map((a) => ({ ...a, source: p.displayName, virtualAccount: p.virtualAccount })),
    );
    for (const pi of instances) {
      for (const a of instanceAlerts(pi, now)) alerts.push({ ...a, source: pi.name, virtualAccount: pi.virtualAccount.name });
    }
    if (sync) alerts.push(sync);
    alerts.sort((a, b) =>
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
      a.messageType.localeCompare(b.messageType) ||
      (a.virtualAccount ?? '').localeCompare(b.virtualAccount ?? '') ||
      a.source.localeCompare(b.source),
    );
    return page(alerts, query);
  }

  /**
   * Imports an entitlement file (closed networks). The whole file is checked first and refused
   * whole on any fault. Then, for each (account, virtual account) named in the file, its lines
   * from earlier imports are replaced by the file's lines, all in one transaction; lines from
   * synchronization and virtual accounts the file does not name are left alone. Accounts and
   * virtual accounts must already exist: a misspelt name is refused rather than created.
   */
  async importEntitlements(actor: string, body: unknown) {
    const { entries, faults } = parseEntitlementFile(body);
    if (faults.length) throw invalidEntitlementFile(faults);
    return this.db.$transaction(async (tx) => {
      const targets = new Map<string, { account: string; virtualAccount: string; id?: string; lines: number; replaced: number }>();
      for (const e of entries) {
        const key = JSON.stringify([e.account, e.virtualAccount]);
        const t = targets.get(key) ?? { account: e.account, virtualAccount: e.virtualAccount, lines: 0, replaced: 0 };
        t.lines++;
        targets.set(key, t);
      }
      const vas = await tx.virtualAccount.findMany({
        where: { OR: [...targets.values()].map((t) => ({ name: t.virtualAccount, account: { name: t.account } })) },
        select: { id: true, name: true, account: { select: { name: true } } },
      });
      for (const va of vas) targets.get(JSON.stringify([va.account.name, va.name]))!.id = va.id;
      const unknown: EntitlementFault[] = [];
      const accounts = new Set((await tx.localAccount.findMany({ where: { name: { in: entries.map((e) => e.account) } }, select: { name: true } })).map((a) => a.name));
      entries.forEach((e, index) => {
        if (!accounts.has(e.account)) unknown.push({ index, field: 'account', message: `no local account named ${e.account}` });
        else if (!targets.get(JSON.stringify([e.account, e.virtualAccount]))!.id) {
          unknown.push({ index, field: 'virtualAccount', message: `account ${e.account} has no virtual account named ${e.virtualAccount}` });
        }
      });
      if (unknown.length) throw invalidEntitlementFile(unknown);

      const ids = [...targets.values()].map((t) => t.id!);
      // Two imports naming the same virtual account take turns instead of interleaving delete and insert.
      await tx.$queryRaw`SELECT id FROM virtual_account WHERE id = ANY(${ids}::uuid[]) ORDER BY id FOR UPDATE`;
      for (const t of targets.values()) {
        t.replaced = (await tx.license.deleteMany({ where: { virtualAccountId: t.id!, source: IMPORT_SOURCE } })).count;
      }
      const idOf = (e: { account: string; virtualAccount: string }) => targets.get(JSON.stringify([e.account, e.virtualAccount]))!.id!;
      const now = this.clock();
      await tx.license.createMany({
        data: entries.map((e) => ({
          virtualAccountId: idOf(e), tag: e.tag, displayName: e.displayName, billingType: e.billingType, quantity: e.quantity,
          startsAt: e.startsAt, endsAt: e.endsAt, family: e.family, tier: e.tier, source: IMPORT_SOURCE, createdAt: now,
        })),
      });
      const virtualAccounts = [...targets.values()].map((t) => ({ account: t.account, virtualAccount: t.virtualAccount, lines: t.lines, replaced: t.replaced }));
      await this.events.record({
        actor, action: 'licenses.import', objectType: 'license', objectId: null, outcome: 'success',
        details: { lines: entries.length, virtualAccounts },
      }, tx);
      return { imported: entries.length, virtualAccounts };
    });
  }

  /**
   * The account (or one of its virtual accounts) resolved by name and its snapshot, in one
   * statement: the API Toolkit reads it on every call. The first row always carries the scope,
   * also when the account or virtual account does not exist or holds nothing.
   */
  private async scopedSnapshot(accountName: string, virtualAccount: string | undefined, clientAccountId?: string) {
    const vaName = virtualAccount ?? null;
    const result = await this.sql.$queryRaw<(Row & { scopeAccountId: string | null; scopeVirtualAccountId: string | null })[]>`
      WITH acct AS (SELECT id FROM local_account WHERE name = ${accountName}),
           vas AS (SELECT va.id FROM virtual_account va JOIN acct ON va.account_id = acct.id
                    WHERE ${vaName}::text IS NULL OR va.name = ${vaName}::text),
           snap AS (${this.snapshotSql(Prisma.sql`va.id IN (SELECT id FROM vas)`)})
      SELECT acct.id::text AS "scopeAccountId",
             (SELECT id::text FROM vas WHERE ${vaName}::text IS NOT NULL) AS "scopeVirtualAccountId", snap.*
        FROM (VALUES (1)) AS one (x) LEFT JOIN acct ON true LEFT JOIN snap ON true
       ORDER BY snap."virtualAccount", snap."createdAt", snap."lineId"`;
    const { scopeAccountId: accountId, scopeVirtualAccountId: virtualAccountId } = result[0];
    if (accountId && clientAccountId && accountId !== clientAccountId) {
      throw forbidden('ACCOUNT_FORBIDDEN', `this API client may not read account ${accountName}`);
    }
    if (!accountId) throw notFound('ACCOUNT_NOT_FOUND', `no account named ${accountName}`);
    if (virtualAccount !== undefined && !virtualAccountId) {
      throw notFound('VIRTUAL_ACCOUNT_NOT_FOUND', `account ${accountName} has no virtual account named ${virtualAccount}`);
    }
    return { accountId, virtualAccountId: virtualAccountId ?? undefined, rows: result.filter((r) => r.tag !== null) };
  }

  /** Purchase lines and usage totals of the chosen virtual accounts in one statement (one snapshot). */
  private snapshotSql(where: Prisma.Sql): Prisma.Sql {
    return Prisma.sql`
      SELECT va.name AS "virtualAccount", l.tag, l.display_name AS "displayName", l.billing_type AS "billingType",
             l.quantity, l.starts_at AS "startsAt", l.ends_at AS "endsAt", l.family, l.tier, NULL::int AS "inUse",
             l.created_at AS "createdAt", l.id AS "lineId"
        FROM license l JOIN virtual_account va ON va.id = l.virtual_account_id
       WHERE ${where}
      UNION ALL
      SELECT va.name, u.tag, NULL, NULL, NULL, NULL, NULL, NULL, NULL, u.in_use, NULL, NULL
        FROM usage_total u JOIN virtual_account va ON va.id = u.virtual_account_id
       WHERE ${where}
       ORDER BY "virtualAccount", "createdAt", "lineId"`;
  }

  private positions(rows: Row[], now: Date): AccountLicense[] {
    const byVa = new Map<string, { lines: LicenseLine[]; inUse: Map<string, number> }>();
    for (const r of rows) {
      let va = byVa.get(r.virtualAccount);
      if (!va) byVa.set(r.virtualAccount, (va = { lines: [], inUse: new Map() }));
      if (r.inUse !== null) va.inUse.set(r.tag, r.inUse);
      else va.lines.push({ ...r, displayName: r.displayName!, billingType: r.billingType!, quantity: r.quantity! });
    }
    return [...byVa].flatMap(([virtualAccount, va]) => computeLicenses(va.lines, va.inUse, now).map((p) => ({ ...p, virtualAccount })));
  }

  private async syncAlert(now: Date): Promise<Alert | undefined> {
    const since = (await this.settings.get<string>(SYNC_LAST_SUCCESS_KEY)) ?? (await this.settings.get<string>(INSTALLED_AT_KEY));
    if (!since || Number.isNaN(Date.parse(since))) return undefined;
    const days = Math.floor((now.getTime() - Date.parse(since)) / DAY_MS);
    if (days < SYNC_UPCOMING_DAYS) return undefined;
    const overdue = days >= SYNC_OVERDUE_DAYS;
    return {
      messageType: overdue ? 'Synchronization Overdue' : 'Upcoming Synchronization Deadline',
      severity: overdue ? 'Major' : 'Minor',
      source: 'Synchronization',
      virtualAccount: null,
      message: `no successful synchronization for ${days} days (since ${new Date(since).toISOString()})` +
        (overdue ? '' : `; synchronize within ${SYNC_OVERDUE_DAYS - days} days`),
    };
  }
}
