import type { MetricSources } from '../../src/metrics/metrics';
import { StandaloneHa } from '../../src/ha/ha-view';

const unreadable = () => Promise.reject(new Error('database is down'));

/** Metric sources whose database reads all fail (for tests of what a scrape shows without them). */
export function unreadableSources(overrides: Partial<MetricSources> = {}): MetricSources {
  return {
    db: { productInstance: { groupBy: unreadable }, localAccount: { findMany: unreadable } } as unknown as MetricSources['db'],
    clock: () => new Date(),
    licenses: { accountLicenses: unreadable, accountAlerts: unreadable },
    sync: { status: unreadable },
    settings: { get: unreadable },
    ha: new StandaloneHa('/tmp'),
    poolMax: 4,
    maxAccounts: 10,
    ...overrides,
  };
}
