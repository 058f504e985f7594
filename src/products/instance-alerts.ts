/**
 * The alerts a product instance raises by itself (api-toolkit.md, "Alerts the server raises"),
 * computed from its certificate expiry and last contact at read time. Deregistered instances
 * raise none: they are no longer expected to renew or connect.
 */

const DAY_MS = 86_400_000;
export const RENEW_WARNING_DAYS = 30;
export const CONTACT_WARNING_DAYS = 30;

export type InstanceAlert = {
  messageType: 'Product Instance Failed to Renew' | 'Product Instance Failed to Connect';
  severity: 'Minor';
  message: string;
};

export function instanceAlerts(
  instance: { status: string; certNotAfter: Date; lastContactAt: Date },
  now: Date,
): InstanceAlert[] {
  if (instance.status !== 'REGISTERED') return [];
  const alerts: InstanceAlert[] = [];
  if (instance.certNotAfter.getTime() <= now.getTime() + RENEW_WARNING_DAYS * DAY_MS) {
    const verb = instance.certNotAfter.getTime() <= now.getTime() ? 'expired' : 'expires';
    alerts.push({
      messageType: 'Product Instance Failed to Renew',
      severity: 'Minor',
      message: `the ID certificate ${verb} on ${instance.certNotAfter.toISOString()} and has not been renewed`,
    });
  }
  if (instance.lastContactAt.getTime() < now.getTime() - CONTACT_WARNING_DAYS * DAY_MS) {
    alerts.push({
      messageType: 'Product Instance Failed to Connect',
      severity: 'Minor',
      message: `no message since ${instance.lastContactAt.toISOString()}`,
    });
  }
  return alerts;
}
