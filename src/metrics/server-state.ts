import { INSTALLED_AT_KEY } from '../licenses/license-service';
import type { MetricSources } from './metrics';

export const OTHER_ACCOUNTS = '(other)';

export type ServerState = {
  instances: [status: string, count: number][];
  compliance: { account: string; status: 'in_compliance' | 'out_of_compliance'; count: number }[];
  accountsOutOfCompliance: number;
  alerts: { type: string; severity: string; count: number }[];
  sync: { lastSuccessAt?: number; ageSeconds: number; lastOutcome: 'success' | 'failure' | 'none'; required: boolean };
  ha: { status?: string; heartbeat?: boolean };
};

/**
 * One read of what the gauges show. Accounts are read one at a time (the same queries as the
 * admin API) so a scrape never holds more than one pool connection for them.
 */
export async function collectState(src: MetricSources): Promise<ServerState> {
  const [instances, accounts, sync, ha] = await Promise.all([
    src.db.productInstance.groupBy({ by: ['status'], _count: { _all: true } }),
    src.db.localAccount.findMany({ where: { status: 'ACTIVE' }, select: { name: true }, orderBy: { name: 'asc' } }),
    src.sync.status(),
    src.ha.status(),
  ]);
  const compliance = new Map<string, number>();
  const alerts = new Map<string, { type: string; severity: string; count: number }>();
  const countAlert = (type: string, severity: string) => {
    const key = `${type}\u0000${severity}`;
    const entry = alerts.get(key) ?? { type, severity, count: 0 };
    entry.count++;
    alerts.set(key, entry);
  };
  let outOfCompliance = 0;
  let serverWide: { type: string; severity: string }[] = [];
  for (const [i, { name }] of accounts.entries()) {
    const label = i < src.maxAccounts ? name : OTHER_ACCOUNTS;
    const [licenses, accountAlerts] = await Promise.all([
      src.licenses.accountLicenses(name, { limit: -1 }),
      src.licenses.accountAlerts(name, { limit: -1 }),
    ]);
    let out = false;
    for (const l of licenses) {
      const status = l.status === 'In Compliance' ? 'in_compliance' : 'out_of_compliance';
      if (status === 'out_of_compliance') out = true;
      const key = `${label}\u0000${status}`;
      compliance.set(key, (compliance.get(key) ?? 0) + 1);
    }
    if (out) outOfCompliance++;
    // The synchronization alert is server-wide: every account's list carries it, count it once.
    serverWide = accountAlerts.filter((a) => a.virtualAccount === null).map((a) => ({ type: a.messageType, severity: a.severity }));
    for (const a of accountAlerts) if (a.virtualAccount !== null) countAlert(a.messageType, a.severity);
  }
  for (const a of serverWide) countAlert(a.type, a.severity);

  const now = src.clock().getTime();
  const lastSuccessAt = sync.lastSuccess ? Date.parse(sync.lastSuccess.at) : undefined;
  const lastErrorAt = sync.lastError ? Date.parse(sync.lastError.at) : undefined;
  const installedAt = await installedSince(src);
  const lastOutcome = lastSuccessAt === undefined && lastErrorAt === undefined ? 'none'
    : (lastErrorAt ?? -Infinity) > (lastSuccessAt ?? -Infinity) ? 'failure' : 'success';
  return {
    instances: instances.map((r) => [r.status, r._count._all]),
    compliance: [...compliance].map(([key, count]) => {
      const [account, status] = key.split('\u0000') as [string, 'in_compliance' | 'out_of_compliance'];
      return { account, status, count };
    }),
    accountsOutOfCompliance: outOfCompliance,
    alerts: [...alerts.values()],
    sync: {
      lastSuccessAt: lastSuccessAt === undefined ? undefined : lastSuccessAt / 1000,
      ageSeconds: Math.max(0, Math.round((now - (lastSuccessAt ?? installedAt ?? now)) / 1000)),
      lastOutcome,
      required: sync.syncRequired,
    },
    ha: ha.enabled ? { status: ha.status, heartbeat: ha.heartbeat === 'Connected' } : {},
  };
}

async function installedSince(src: MetricSources): Promise<number | undefined> {
  const value = await src.settings.get<string>(INSTALLED_AT_KEY);
  return typeof value === 'string' ? Date.parse(value) : undefined;
}
