/**
 * License accounting of one virtual account: a pure function of its purchase lines, its in-use
 * counts and the time, so every rule can be tested on hand-made data (api-toolkit.md, "License
 * accounting rules" and "Alerts the server raises").
 *
 * Decisions the spec leaves open:
 * - A line counts as purchased while `startsAt <= now < endsAt` (a missing bound is open).
 * - Substitution works only inside one `family` between tags with a `tier`; only a strictly higher
 *   tier may lend. Each tag serves its own use first; then shortfalls are filled from the highest
 *   short tier down, each drawing from the nearest higher tier with unused licenses, then the next,
 *   so unused licenses go to the tier closest to them. Borrowed licenses are never lent on.
 * - `Licenses Expiring` (Minor): some line of the tag ends within the next 30 days (now < endsAt <= now + 30 d).
 * - `Licenses Expired` (Major): some line of the tag has ended (endsAt <= now) and the tag's use
 *   exceeds what its own active lines provide, i.e. the use the ended line used to cover is still
 *   there. It is raised even when substitution keeps the balance at 0 or above, because the
 *   expired licenses themselves are still being used; a renewal (a new active line) clears it.
 * - A tag in use that no line of this virtual account sells appears with purchased 0.
 */

export const DAY_MS = 24 * 60 * 60 * 1000;
export const EXPIRING_WITHIN_DAYS = 30;

export type LicenseLine = {
  tag: string;
  displayName: string;
  billingType: string;
  quantity: number;
  startsAt?: Date | null;
  endsAt?: Date | null;
  family?: string | null;
  tier?: number | null;
};

export type Severity = 'Major' | 'Minor';
export type LicenseAlert = {
  messageType: 'Insufficient Licenses' | 'Licenses Expiring' | 'Licenses Expired';
  severity: Severity;
  message: string;
};
export type ComplianceStatus = 'In Compliance' | 'Out of Compliance';

export type LicensePosition = {
  tag: string;
  displayName: string;
  /** null for a tag that is used but was never purchased in this virtual account. */
  billingType: string | null;
  family: string | null;
  tier: number | null;
  purchased: number;
  inUse: number;
  borrowed: number;
  lent: number;
  /** +borrowed or -lent (a tag never both borrows and lends). */
  substitution: number;
  balance: number;
  status: ComplianceStatus;
  /** The earliest end among the tag's active term lines: when `purchased` next drops. */
  endsAt: Date | null;
  alerts: LicenseAlert[];
};

const isActive = (line: LicenseLine, now: Date) =>
  (!line.startsAt || line.startsAt.getTime() <= now.getTime()) && (!line.endsAt || now.getTime() < line.endsAt.getTime());

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const day = (d: Date) => d.toISOString().slice(0, 10);

type Draft = Omit<LicensePosition, 'substitution' | 'balance' | 'status' | 'alerts'> & { lines: LicenseLine[] };

export function computeLicenses(lines: LicenseLine[], inUse: ReadonlyMap<string, number>, now: Date): LicensePosition[] {
  const drafts = new Map<string, Draft>();
  for (const line of lines) {
    let d = drafts.get(line.tag);
    if (!d) {
      d = {
        tag: line.tag, displayName: line.displayName, billingType: line.billingType, family: null, tier: null,
        purchased: 0, inUse: inUse.get(line.tag) ?? 0, borrowed: 0, lent: 0, endsAt: null, lines: [],
      };
      drafts.set(line.tag, d);
    }
    d.lines.push(line);
    // The first line that names a family and a tier places the tag in it.
    if (d.family === null && line.family && line.tier !== null && line.tier !== undefined) {
      d.family = line.family;
      d.tier = line.tier;
    }
    if (isActive(line, now)) {
      d.purchased += line.quantity;
      if (line.endsAt && (!d.endsAt || line.endsAt < d.endsAt)) d.endsAt = line.endsAt;
    }
  }
  for (const [tag, count] of inUse) {
    if (count > 0 && !drafts.has(tag)) {
      drafts.set(tag, {
        tag, displayName: tag, billingType: null, family: null, tier: null,
        purchased: 0, inUse: count, borrowed: 0, lent: 0, endsAt: null, lines: [],
      });
    }
  }

  substitute([...drafts.values()]);

  return [...drafts.values()]
    .map(({ lines: tagLines, ...d }) => {
      const balance = d.purchased - d.inUse + d.borrowed - d.lent;
      return {
        ...d,
        substitution: d.borrowed - d.lent,
        balance,
        status: (balance < 0 ? 'Out of Compliance' : 'In Compliance') as ComplianceStatus,
        alerts: alertsFor(d, tagLines, balance, now),
      };
    })
    .sort((a, b) => a.displayName.localeCompare(b.displayName) || a.tag.localeCompare(b.tag));
}

function substitute(drafts: Draft[]) {
  const families = new Map<string, Draft[]>();
  for (const d of drafts) {
    if (d.family === null || d.tier === null) continue;
    families.set(d.family, [...(families.get(d.family) ?? []), d]);
  }
  for (const members of families.values()) {
    members.sort((a, b) => a.tier! - b.tier! || a.tag.localeCompare(b.tag));
    const unused = new Map(members.map((m) => [m, Math.max(0, m.purchased - m.inUse)]));
    for (let i = members.length - 1; i >= 0; i--) {
      const short = members[i];
      let need = short.inUse - short.purchased;
      for (let j = i + 1; j < members.length && need > 0; j++) {
        const lender = members[j];
        if (lender.tier! <= short.tier!) continue;
        const take = Math.min(need, unused.get(lender)!);
        if (take === 0) continue;
        unused.set(lender, unused.get(lender)! - take);
        lender.lent += take;
        short.borrowed += take;
        need -= take;
      }
    }
  }
}

function alertsFor(d: Omit<Draft, 'lines'>, lines: LicenseLine[], balance: number, now: Date): LicenseAlert[] {
  const alerts: LicenseAlert[] = [];
  if (balance < 0) {
    alerts.push({
      messageType: 'Insufficient Licenses',
      severity: 'Major',
      message: `${plural(-balance, 'license')} short of ${d.displayName}: ${d.inUse} in use, ${d.purchased} purchased` +
        (d.borrowed ? `, ${d.borrowed} borrowed` : ''),
    });
  }
  const horizon = now.getTime() + EXPIRING_WITHIN_DAYS * DAY_MS;
  const expiring = lines.filter((l) => l.endsAt && l.endsAt.getTime() > now.getTime() && l.endsAt.getTime() <= horizon);
  if (expiring.length) {
    const first = expiring.reduce((a, b) => (b.endsAt! < a.endsAt! ? b : a));
    const quantity = expiring.reduce((sum, l) => sum + l.quantity, 0);
    alerts.push({
      messageType: 'Licenses Expiring',
      severity: 'Minor',
      message: `${plural(quantity, 'license')} of ${d.displayName} expire within ${EXPIRING_WITHIN_DAYS} days (first on ${day(first.endsAt!)})`,
    });
  }
  const ended = lines.filter((l) => l.endsAt && l.endsAt.getTime() <= now.getTime());
  if (ended.length && d.inUse > d.purchased) {
    const last = ended.reduce((a, b) => (b.endsAt! > a.endsAt! ? b : a));
    alerts.push({
      messageType: 'Licenses Expired',
      severity: 'Major',
      message: `licenses of ${d.displayName} expired on ${day(last.endsAt!)} and are still in use: ${d.inUse} in use, ${d.purchased} active`,
    });
  }
  return alerts;
}
