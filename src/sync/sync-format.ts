import { z } from 'zod';
import { badRequest } from '../errors';
import { NAME_PATTERN } from '../accounts/account-rules';
import { TAG_PATTERN } from '../licenses/entitlement-file';

/**
 * The documents exchanged with the vendor cloud (docs/sync.md; openapi.yaml `SyncRequest` and
 * `SyncResponse` describe the same shapes). The server checks every response against these
 * schemas whether it came over the network or from a file.
 */
export const SYNC_FORMAT_VERSION = 1;

const name = z.string().regex(NAME_PATTERN);
const isoTime = z.iso.datetime({ offset: true });
const pem = z.string().regex(/^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/, 'must be a PEM certificate').max(20_000);

export const syncLicenseLineSchema = z
  .object({
    tag: z.string().regex(TAG_PATTERN),
    displayName: z.string().min(1).max(200),
    billingType: z.string().min(1).max(64),
    quantity: z.number().int().min(0).max(1_000_000_000),
    startsAt: isoTime.nullish(),
    endsAt: isoTime.nullish(),
    family: z.string().min(1).max(64).nullish(),
    tier: z.number().int().min(1).max(1000).nullish(),
  })
  .strict();

export const syncResponseSchema = z
  .object({
    formatVersion: z.literal(SYNC_FORMAT_VERSION),
    requestId: z.uuid(),
    respondedAt: isoTime,
    accounts: z
      .array(
        z
          .object({
            name,
            smartAccount: z.string().min(1).max(200),
            approved: z.boolean(),
            virtualAccounts: z.array(z.object({ name, licenses: z.array(syncLicenseLineSchema).max(10_000) }).strict()).max(1000),
          })
          .strict(),
      )
      .max(10_000),
    caCertificate: pem.optional(),
  })
  .strict();

export type SyncResponse = z.infer<typeof syncResponseSchema>;

export type SyncMode = 'NETWORK' | 'MANUAL';

export type SyncRequest = {
  formatVersion: typeof SYNC_FORMAT_VERSION;
  requestId: string;
  requestedAt: string;
  mode: SyncMode;
  server: { hostCommonName: string; caCertificate: string };
  accounts: {
    name: string;
    status: 'REQUESTED' | 'ACTIVE' | 'INACTIVE';
    smartAccount: string | null;
    contactEmail: string | null;
    description: string | null;
    requestedAt: string;
    virtualAccounts: {
      name: string;
      usage: { tag: string; inUse: number }[];
      productInstances: {
        udi: { pid: string; sn: string };
        name: string;
        productType: string;
        status: 'REGISTERED' | 'DEREGISTERED';
        usage: { tag: string; count: number }[];
      }[];
    }[];
  }[];
};

/** The reference upstream checks what it receives with this (lighter: it only reads a few fields). */
export const syncRequestSchema = z.object({
  formatVersion: z.literal(SYNC_FORMAT_VERSION),
  requestId: z.uuid(),
  requestedAt: isoTime,
  server: z.object({ hostCommonName: z.string().min(1), caCertificate: pem }),
  accounts: z.array(z.object({ name, smartAccount: z.string().nullable() }).loose()),
}).loose();

const printable = (text: string) => text.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);

/**
 * A response document checked against the schema and its own rules (no account or virtual account
 * twice, terms that end after they start). Called on verified documents only; paths are still
 * shown in printable ASCII only and cut short, as they are keys of the document.
 */
export function parseResponse(body: unknown): SyncResponse {
  const parsed = syncResponseSchema.safeParse(body);
  if (!parsed.success) {
    const errors = parsed.error.issues.slice(0, 20).map((i) => ({ path: printable(i.path.join('.')), message: printable(i.message) }));
    throw badRequest('SYNC_RESPONSE_INVALID', `not a valid sync response: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, { errors });
  }
  const response = parsed.data;
  const faults: string[] = [];
  const accounts = new Set<string>();
  for (const a of response.accounts) {
    if (accounts.has(a.name)) faults.push(`account ${a.name} appears twice`);
    accounts.add(a.name);
    const vas = new Set<string>();
    for (const va of a.virtualAccounts) {
      if (vas.has(va.name)) faults.push(`virtual account ${a.name}/${va.name} appears twice`);
      vas.add(va.name);
      for (const l of va.licenses) {
        if (l.startsAt && l.endsAt && Date.parse(l.endsAt) <= Date.parse(l.startsAt)) faults.push(`${a.name}/${va.name} ${l.tag}: endsAt must be after startsAt`);
      }
    }
  }
  if (faults.length) throw badRequest('SYNC_RESPONSE_INVALID', `not a valid sync response: ${faults.slice(0, 5).join('; ')}`, { errors: faults.slice(0, 20).map((message) => ({ path: 'accounts', message })) });
  return response;
}
