import { AppError } from '../errors';
import { nextRunAt, SyncScheduler } from './sync-scheduler';

const now = new Date('2026-11-24T12:00:00Z');
const at = (iso: string) => new Date(iso).toISOString();

describe('Sync scheduling rule', () => {
  test('When the server never synchronized, then the next sync is due at once', () => {
    expect(nextRunAt(now, 86_400, undefined, 0, 60)).toEqual(now);
  });

  test('When the last success is recent, then the next sync is one interval after it', () => {
    expect(nextRunAt(now, 86_400, new Date('2026-11-24T06:00:00Z'), 0, 60).toISOString()).toBe(at('2026-11-25T06:00:00Z'));
  });

  test('When the last success is older than the interval, then the next sync is due at once', () => {
    expect(nextRunAt(now, 3_600, new Date('2026-11-20T00:00:00Z'), 0, 60)).toEqual(now);
  });

  test('When syncs fail, then retries back off exponentially from the base, capped at the interval', () => {
    const delays = [1, 2, 3, 4, 10].map((failures) => (nextRunAt(now, 600, now, failures, 60).getTime() - now.getTime()) / 1000);
    expect(delays).toEqual([60, 120, 240, 480, 600]);
  });
});

describe('Scheduled sync logging', () => {
  const run = async (failure: Error) => {
    const calls: { level: string; obj: Record<string, unknown> }[] = [];
    const logger = Object.fromEntries(['warn', 'error', 'info'].map((level) => [level, (obj: Record<string, unknown>) => void calls.push({ level, obj })]));
    const sync = { networkConfigured: true, onChange: () => undefined, runNetworkSync: () => Promise.reject(failure) };
    const settings = { get: async () => undefined };
    const scheduler = new SyncScheduler(sync as never, settings as never, () => new Date(), logger as never, { intervalSeconds: 3600 });
    scheduler.start();
    for (let i = 0; i < 100 && calls.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await scheduler.stop();
    return calls;
  };

  test('When the upstream is unreachable, then the failure is logged at warn with its code and no stack trace', async () => {
    const calls = await run(new AppError('SYNC_UPSTREAM_UNREACHABLE', 502, 'cannot reach the upstream https://127.0.0.1:1/sync (ECONNREFUSED)'));
    expect(calls).toEqual([{ level: 'warn', obj: { code: 'SYNC_UPSTREAM_UNREACHABLE', error: expect.stringContaining('ECONNREFUSED'), failures: 1 } }]);
  });

  test('When the sync fails for a reason of ours, then it is logged at error with the error', async () => {
    const calls = await run(new Error('database gone'));
    expect(calls).toEqual([{ level: 'error', obj: { err: expect.any(Error), failures: 1 } }]);
  });
});
