import { instanceAlerts } from './instance-alerts';

const DAY_MS = 86_400_000;
const now = new Date('2026-11-24T12:00:00Z');
const at = (days: number) => new Date(now.getTime() + days * DAY_MS);

describe('Product instance alerts', () => {
  test('When the certificate is far from expiry and the instance reported recently, then there is no alert', () => {
    expect(instanceAlerts({ status: 'REGISTERED', certNotAfter: at(200), lastContactAt: at(-1) }, now)).toEqual([]);
  });

  test('When the certificate expires within 30 days, then Failed to Renew is raised; exactly at 30 days too', () => {
    expect(instanceAlerts({ status: 'REGISTERED', certNotAfter: at(30), lastContactAt: now }, now)).toEqual([
      expect.objectContaining({ messageType: 'Product Instance Failed to Renew', severity: 'Minor', message: expect.stringContaining('expires') }),
    ]);
    expect(instanceAlerts({ status: 'REGISTERED', certNotAfter: at(30.01), lastContactAt: now }, now)).toEqual([]);
    expect(instanceAlerts({ status: 'REGISTERED', certNotAfter: at(-1), lastContactAt: now }, now)[0].message).toContain('expired');
  });

  test('When no message came for more than 30 days, then Failed to Connect is raised', () => {
    expect(instanceAlerts({ status: 'REGISTERED', certNotAfter: at(200), lastContactAt: at(-30.01) }, now)).toEqual([
      expect.objectContaining({ messageType: 'Product Instance Failed to Connect' }),
    ]);
    expect(instanceAlerts({ status: 'REGISTERED', certNotAfter: at(200), lastContactAt: at(-30) }, now)).toEqual([]);
  });

  test('When the instance is deregistered, then it raises nothing', () => {
    expect(instanceAlerts({ status: 'DEREGISTERED', certNotAfter: at(-5), lastContactAt: at(-100) }, now)).toEqual([]);
  });
});
