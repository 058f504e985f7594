import { z } from 'zod';
import { AppError } from '../errors';

/**
 * Entitlement tags as vendors write them (e.g. `regid.2016-07.com.cisco.UCM_Enhanced,12.0_7e6c...`):
 * letters, digits and `. _ - , : + /`, starting with a letter or digit, at most 255 characters.
 * The transport `authorize` answers INVALID_TAG for anything else.
 */
export const TAG_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._,:+/-]{0,254}$/;
export const MAX_ENTRIES = 10_000;
const MAX_FAULTS = 200;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** One fault of an entitlement file; `index` is the entry (absent for the file as a whole). */
export type EntitlementFault = { index?: number; field: string; message: string };

export type EntitlementEntry = {
  account: string;
  virtualAccount: string;
  tag: string;
  displayName: string;
  billingType: string;
  quantity: number;
  startsAt: Date | null;
  endsAt: Date | null;
  family: string | null;
  tier: number | null;
};

const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);
const time = z
  .string()
  .regex(ISO_TIME, 'must be an ISO 8601 date or date-time with a time zone')
  .refine((s) => !Number.isNaN(Date.parse(s)), 'is not a real date')
  .transform((s) => new Date(s));

const entrySchema = z
  .object({
    account: text(64),
    virtualAccount: text(64),
    tag: z.string().regex(TAG_PATTERN, 'must be 1-255 letters, digits or . _ - , : + / starting with a letter or digit'),
    displayName: text(200),
    billingType: text(64),
    quantity: z.number().int('must be a whole number').min(0, 'must be 0 or more').max(1_000_000_000, 'must be at most 1000000000'),
    startsAt: time.nullish(),
    endsAt: time.nullish(),
    family: text(64).nullish(),
    tier: z.number().int('must be a whole number').min(1, 'must be 1 or more').max(1000, 'must be at most 1000').nullish(),
  })
  .strict();

const fileSchema = z.object({ licenses: z.array(z.unknown()) });

export const invalidEntitlementFile = (faults: EntitlementFault[]) =>
  new AppError('INVALID_ENTITLEMENT_FILE', 400, describeFaults(faults), { faults: faults.slice(0, MAX_FAULTS), faultCount: faults.length });

function describeFaults(faults: EntitlementFault[]): string {
  const first = faults[0];
  const where = first.index === undefined ? first.field : `licenses[${first.index}].${first.field}`;
  return `the entitlement file is invalid (${faults.length} fault${faults.length === 1 ? '' : 's'}; first: ${where} ${first.message}); nothing was imported`;
}

/**
 * Checks the shape of an entitlement file `{"licenses": [entry, ...]}` and every entry, collecting
 * every fault so the admin can fix the file in one go. Cross-entry rule: a tag keeps one family and
 * tier throughout the file (substitution needs a tag to sit at one place in its family).
 */
export function parseEntitlementFile(body: unknown): { entries: EntitlementEntry[]; faults: EntitlementFault[] } {
  const file = fileSchema.safeParse(body);
  if (!file.success) return { entries: [], faults: [{ field: 'licenses', message: 'the file must be a JSON object with a "licenses" array' }] };
  const raw = file.data.licenses;
  if (raw.length === 0) return { entries: [], faults: [{ field: 'licenses', message: 'the file holds no license entries' }] };
  if (raw.length > MAX_ENTRIES) return { entries: [], faults: [{ field: 'licenses', message: `the file holds ${raw.length} entries; at most ${MAX_ENTRIES} are allowed` }] };

  const faults: EntitlementFault[] = [];
  const entries: EntitlementEntry[] = [];
  const placeOfTag = new Map<string, { index: number; family: string | null; tier: number | null }>();
  raw.forEach((item, index) => {
    const parsed = entrySchema.safeParse(item);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        if (issue.code === 'unrecognized_keys') {
          for (const key of issue.keys) faults.push({ index, field: key, message: 'is not a known field' });
        } else {
          faults.push({ index, field: issue.path.length ? issue.path.join('.') : '(entry)', message: issue.path.length ? issue.message : 'must be an object' });
        }
      }
      return;
    }
    const e = parsed.data;
    const entry: EntitlementEntry = { ...e, startsAt: e.startsAt ?? null, endsAt: e.endsAt ?? null, family: e.family ?? null, tier: e.tier ?? null };
    if (entry.startsAt && entry.endsAt && entry.endsAt <= entry.startsAt) faults.push({ index, field: 'endsAt', message: 'must be after startsAt' });
    if ((entry.family === null) !== (entry.tier === null)) {
      faults.push({ index, field: entry.family === null ? 'family' : 'tier', message: 'family and tier go together: give both or neither' });
    }
    const place = placeOfTag.get(entry.tag);
    if (!place) placeOfTag.set(entry.tag, { index, family: entry.family, tier: entry.tier });
    else if (place.family !== entry.family || place.tier !== entry.tier) {
      faults.push({ index, field: 'tier', message: `tag ${entry.tag} has another family or tier in entry ${place.index}` });
    }
    entries.push(entry);
  });
  return { entries, faults };
}
