import { z } from 'zod';
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
