import { nextRunAt } from './sync-scheduler';

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
