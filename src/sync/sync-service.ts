import { randomUUID, X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../clock';
import type { Db } from '../store/database';
import type { Prisma } from '../generated/prisma/client';
import type { EventLog } from '../events/event-log';
import type { SettingsStore } from '../config/settings-store';
import type { PkiService } from '../pki/pki-service';
import { certificateDetails, type HostCommonNameService } from '../hcn/host-common-name';
import { SYNC_LAST_SUCCESS_KEY } from '../licenses/license-service';
import { AppError, badRequest } from '../errors';
import { parseResponse, SYNC_FORMAT_VERSION, type SyncMode, type SyncRequest, type SyncResponse } from './sync-format';
import { verifySignedResponse } from './signed-response';
import { UpstreamClient, type AttemptProgress } from './upstream-client';
import { UpstreamKey } from './upstream-key';

/** License lines written by synchronization; a sync replaces these and leaves IMPORT lines alone. */
export const SYNC_SOURCE = 'SYNC';
export const SIGNED_CA_KEY = 'sync.signedCaCertificate';
// Any constant works: it only has to be the same on both nodes of a cluster.
const APPLY_LOCK = 0x51_4e_43; // "SNC"

type Tx = Prisma.TransactionClient;
export type SyncOptions = {
  upstreamUrl?: string;
  /** PEM CA certificate(s) to trust for the upstream's TLS certificate (SLM_UPSTREAM_CA). */
  upstreamCa?: string;
  logger: Logger;
  /** Network attempts per sync (first try included) and the first backoff delay, doubled each time. */
  attempts?: number;
  backoffMs?: number;
  timeoutMs?: number;
};

export type SyncResult = {
  requestId: string;
  outcome: 'APPLIED' | 'ALREADY_APPLIED';
  appliedAt: string;
  summary?: {
    accountsApproved: string[];
    accountsUnknown: string[];
    virtualAccounts: { account: string; virtualAccount: string; licenseLines: number }[];
    syncLinesReplaced: number;
    caCertificateStored: boolean;
    syncRequiredCleared: boolean;
    /** Whether products still cannot register after this apply (a request older than the Host Common Name change). */
    syncRequired: boolean;
  };
};

export type SyncProgress = AttemptProgress & { requestId: string; startedAt: string };

const staleResponse = (requestId: string, newer: string) =>
  new AppError('SYNC_RESPONSE_STALE', 409, `response to request ${requestId} is older than the already applied response to request ${newer}: export a new request`, { newerRequestId: newer });

/**
 * Synchronization with the vendor cloud: builds requests (accounts, account requests, product
 * instances and usage), applies responses (account approvals, purchased licenses, the signed CA
 * certificate) in one transaction, over the network or through files. Rules: a response is
 * applied at most once (again: nothing changes), never after a response to a newer request, and
 * only if it answers a request this server made (sync_run).
 */
export class SyncService {
  private inFlight?: Promise<SyncResult>;
  private progress?: SyncProgress;
  private readonly upstream?: UpstreamClient;
  private readonly changeListeners: (() => void)[] = [];
  /** The vendor key every response must be signed with. */
  readonly upstreamKey: UpstreamKey;

  constructor(
    private readonly db: Db,
    private readonly settings: SettingsStore,
    private readonly hcn: HostCommonNameService,
    private readonly pki: PkiService,
    private readonly events: EventLog,
    private readonly clock: Clock,
    opts: SyncOptions,
  ) {
    this.upstreamKey = new UpstreamKey(db, settings, events, clock, () => this.changed());
    if (opts.upstreamUrl) this.upstream = new UpstreamClient({ ...opts, url: opts.upstreamUrl, ca: opts.upstreamCa }, clock);
  }

  get networkConfigured(): boolean {
    return this.upstream !== undefined;
  }

  /** Called after a response was applied or the upstream key installed (the scheduler plans its next run again). */
  onChange(listener: () => void): void {
    this.changeListeners.push(listener);
  }

  private changed(): void {
    this.changeListeners.forEach((listener) => listener());
  }

  /** A new request document, recorded in sync_run so that only its answer can be applied. */
  async createRequest(actor: string, mode: SyncMode): Promise<SyncRequest> {
    const requestId = randomUUID();
    const requestedAt = this.clock();
    // One consistent picture of accounts, instances and usage while products keep reporting.
    const accounts = await this.db.$transaction(
      (tx) =>
        tx.localAccount.findMany({
          orderBy: { name: 'asc' },
          include: {
            virtualAccounts: {
              orderBy: { name: 'asc' },
              include: {
                usageTotals: { orderBy: { tag: 'asc' } },
                productInstances: { orderBy: [{ udiPid: 'asc' }, { udiSn: 'asc' }], include: { usages: { orderBy: { tag: 'asc' } } } },
              },
            },
          },
        }),
      { isolationLevel: 'RepeatableRead' },
    );
    await this.db.syncRun.create({ data: { mode, requestId, requestedAt, startedAt: requestedAt } });
    await this.events.record({ actor, action: 'sync.request', objectType: 'sync', objectId: requestId, outcome: 'success', details: { mode } });
    return {
      formatVersion: SYNC_FORMAT_VERSION,
      requestId,
      requestedAt: requestedAt.toISOString(),
      mode,
      server: { hostCommonName: await this.hcn.current(), caCertificate: (await this.pki.ca()).certPem },
      accounts: accounts.map((a) => ({
        name: a.name,
        status: a.status,
        smartAccount: a.smartAccount,
        contactEmail: a.contactEmail,
        description: a.description,
        requestedAt: a.createdAt.toISOString(),
        virtualAccounts: a.virtualAccounts.map((va) => ({
          name: va.name,
          usage: va.usageTotals.map((u) => ({ tag: u.tag, inUse: u.inUse })),
          productInstances: va.productInstances.map((pi) => ({
            udi: { pid: pi.udiPid, sn: pi.udiSn },
            name: pi.name,
            productType: pi.productType,
            status: pi.status,
            usage: pi.usages.map((u) => ({ tag: u.tag, count: u.count })),
          })),
        })),
      })),
    };
  }

  /** Applies a signed response (a response file): verified with the installed vendor key before anything is read. */
  async applyResponse(actor: string, body: unknown): Promise<SyncResult> {
    const response = parseResponse(verifySignedResponse(body, await this.upstreamKey.publicKey()));
    return this.applyVerified(actor, response);
  }

  /** Runs one network sync (one at a time per process: a second caller shares the running one). */
  runNetworkSync(actor: string, signal?: AbortSignal): Promise<SyncResult> {
    if (!this.upstream) {
      return Promise.reject(new AppError('SYNC_NOT_CONFIGURED', 409, 'no upstream URL is configured (SLM_UPSTREAM_URL): synchronize through request and response files'));
    }
    this.inFlight ??= this.networkSync(this.upstream, actor, signal).finally(() => {
      this.inFlight = undefined;
      this.progress = undefined;
    });
    return this.inFlight;
  }

  async status() {
    const [lastSuccess, lastError, pending, signedCa, upstreamKey] = await Promise.all([
      this.db.syncRun.findFirst({ where: { outcome: 'SUCCESS' }, orderBy: { finishedAt: 'desc' } }),
      this.db.syncRun.findFirst({ where: { outcome: 'FAILURE' }, orderBy: { finishedAt: 'desc' } }),
      this.db.syncRun.count({ where: { outcome: 'PENDING' } }),
      this.settings.get<string>(SIGNED_CA_KEY),
      this.upstreamKey.info(),
    ]);
    return {
      mode: this.networkConfigured ? ('NETWORK' as const) : ('MANUAL' as const),
      upstreamUrl: this.upstream?.url ?? null,
      upstreamKey: upstreamKey && { fingerprintSha256: upstreamKey.fingerprintSha256, algorithm: upstreamKey.algorithm, certificateSubject: upstreamKey.certificateSubject, installedAt: upstreamKey.installedAt, installedBy: upstreamKey.installedBy },
      inProgress: this.progress ?? null,
      syncRequired: await this.hcn.isSyncRequired(),
      lastSuccess: lastSuccess && { at: lastSuccess.finishedAt!.toISOString(), mode: lastSuccess.mode, requestId: lastSuccess.requestId },
      lastError: lastError && { at: lastError.finishedAt!.toISOString(), mode: lastError.mode, requestId: lastError.requestId, error: lastError.error ?? '' },
      pendingRequests: pending,
      signedCaCertificate: signedCa ? { ...certificateDetails(signedCa), pem: signedCa } : null,
    };
  }

  private async applyVerified(actor: string, response: SyncResponse): Promise<SyncResult> {
    const run = await this.db.syncRun.findUnique({ where: { requestId: response.requestId } });
    if (!run) {
      throw new AppError('SYNC_UNKNOWN_REQUEST', 409, `this server made no request ${response.requestId}: the response belongs to another server or to a request file that was never exported here`);
    }
    let result: SyncResult;
    try {
      await this.checkCaCertificate(response.caCertificate);
      result = await this.db.$transaction((tx) => this.applyInTransaction(tx, actor, run.id, response));
    } catch (err) {
      await this.recordFailure(run.id, actor, err);
      throw err;
    }
    if (result.summary) {
      result.summary.syncRequired = await this.hcn.isSyncRequired();
      this.changed();
    }
    return result;
  }

  private async applyInTransaction(tx: Tx, actor: string, runId: string, response: SyncResponse): Promise<SyncResult> {
    // Applies take turns cluster-wide, so "already applied" and "stale" are decided on settled data.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${APPLY_LOCK}::bigint)`;
    const run = await tx.syncRun.findUniqueOrThrow({ where: { id: runId } });
    if (run.outcome === 'SUCCESS') {
      return { requestId: run.requestId, outcome: 'ALREADY_APPLIED', appliedAt: run.finishedAt!.toISOString() };
    }
    const newer = await tx.syncRun.findFirst({ where: { outcome: 'SUCCESS', requestedAt: { gt: run.requestedAt } }, orderBy: { requestedAt: 'desc' } });
    if (newer) throw staleResponse(run.requestId, newer.requestId);

    const now = this.clock();
    const locals = await tx.localAccount.findMany({ where: { name: { in: response.accounts.map((a) => a.name) } } });
    const byName = new Map(locals.map((a) => [a.name, a]));
    const summary: NonNullable<SyncResult['summary']> = {
      accountsApproved: [], accountsUnknown: [], virtualAccounts: [], syncLinesReplaced: 0, caCertificateStored: false, syncRequiredCleared: false, syncRequired: false,
    };
    for (const entry of response.accounts) {
      const local = byName.get(entry.name);
      if (!local) {
        summary.accountsUnknown.push(entry.name); // deleted here since the request: nothing to attach to
        continue;
      }
      if (entry.approved && local.status === 'REQUESTED') {
        await tx.localAccount.update({ where: { id: local.id }, data: { status: 'ACTIVE', smartAccount: entry.smartAccount, approvedAt: now } });
        summary.accountsApproved.push(entry.name);
      } else if (entry.approved && local.smartAccount !== entry.smartAccount) {
        await tx.localAccount.update({ where: { id: local.id }, data: { smartAccount: entry.smartAccount } });
      }
      await tx.virtualAccount.createMany({ data: entry.virtualAccounts.map((va) => ({ accountId: local.id, name: va.name })), skipDuplicates: true });
    }

    const accountIds = response.accounts.flatMap((a) => (byName.has(a.name) ? [byName.get(a.name)!.id] : []));
    // Same lock order as the entitlement import (virtual accounts by id), so the two cannot deadlock.
    const vas = await tx.$queryRaw<{ id: string; name: string; account_id: string }[]>`
      SELECT id, name, account_id FROM virtual_account WHERE account_id = ANY(${accountIds}::uuid[]) ORDER BY id FOR UPDATE`;
    summary.syncLinesReplaced = (await tx.license.deleteMany({ where: { source: SYNC_SOURCE, virtualAccountId: { in: vas.map((v) => v.id) } } })).count;
    const vaId = new Map(vas.map((v) => [`${v.account_id}/${v.name}`, v.id]));
    const lines: Prisma.LicenseCreateManyInput[] = [];
    for (const entry of response.accounts) {
      const local = byName.get(entry.name);
      if (!local) continue;
      for (const va of entry.virtualAccounts) {
        const virtualAccountId = vaId.get(`${local.id}/${va.name}`)!;
        summary.virtualAccounts.push({ account: entry.name, virtualAccount: va.name, licenseLines: va.licenses.length });
        for (const l of va.licenses) {
          lines.push({
            virtualAccountId, tag: l.tag, displayName: l.displayName, billingType: l.billingType, quantity: l.quantity,
            startsAt: l.startsAt ? new Date(l.startsAt) : null, endsAt: l.endsAt ? new Date(l.endsAt) : null,
            family: l.family ?? null, tier: l.tier ?? null, source: SYNC_SOURCE, createdAt: now,
          });
        }
      }
    }
    if (lines.length) await tx.license.createMany({ data: lines });

    if (response.caCertificate) {
      await this.settings.set(SIGNED_CA_KEY, response.caCertificate, tx);
      summary.caCertificateStored = true;
    }
    summary.syncRequiredCleared = await this.hcn.markSynchronized(run.requestedAt, tx);
    await this.settings.set(SYNC_LAST_SUCCESS_KEY, now.toISOString(), tx);
    await tx.syncRun.update({ where: { id: run.id }, data: { outcome: 'SUCCESS', finishedAt: now, error: null } });
    await this.events.record({ actor, action: 'sync.apply', objectType: 'sync', objectId: run.requestId, outcome: 'success', details: { mode: run.mode, ...summary } }, tx);
    return { requestId: run.requestId, outcome: 'APPLIED', appliedAt: now.toISOString(), summary };
  }

  /** The upstream may return our CA certificate signed by it: it must certify our CA's own key. */
  private async checkCaCertificate(pem: string | undefined): Promise<void> {
    if (!pem) return;
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(pem);
    } catch {
      throw badRequest('SYNC_RESPONSE_INVALID', 'caCertificate is not a readable X.509 certificate');
    }
    if (!cert.publicKey.equals((await this.pki.ca()).publicKey)) {
      throw badRequest('SYNC_RESPONSE_INVALID', "caCertificate does not certify this server's CA key");
    }
  }

  private async recordFailure(runId: string, actor: string, err: unknown): Promise<void> {
    const error = err instanceof AppError ? `${err.code}: ${err.message}` : `INTERNAL_ERROR: ${(err as Error).message}`;
    const failed = await this.db.syncRun.updateMany({
      where: { id: runId, outcome: { not: 'SUCCESS' } },
      data: { outcome: 'FAILURE', finishedAt: this.clock(), error: error.slice(0, 2000) },
    });
    if (failed.count) {
      const run = await this.db.syncRun.findUniqueOrThrow({ where: { id: runId } });
      await this.events.record({ actor, action: 'sync.apply', objectType: 'sync', objectId: run.requestId, outcome: 'failure', details: { mode: run.mode, error } });
    }
  }

  private async networkSync(upstream: UpstreamClient, actor: string, signal?: AbortSignal): Promise<SyncResult> {
    // Without a key nothing the upstream says could be verified: send nothing either.
    const key = await this.upstreamKey.publicKey();
    const request = await this.createRequest(actor, 'NETWORK');
    const startedAt = this.clock().toISOString();
    let response: SyncResponse;
    try {
      const body = await upstream.exchange(request, signal, (p) => (this.progress = { ...p, requestId: request.requestId, startedAt }));
      response = parseResponse(verifySignedResponse(body, key));
      if (response.requestId !== request.requestId) throw badRequest('SYNC_RESPONSE_INVALID', `the upstream answered another request than ${request.requestId}`);
    } catch (err) {
      const run = await this.db.syncRun.findUniqueOrThrow({ where: { requestId: request.requestId } });
      await this.recordFailure(run.id, actor, err);
      throw upstreamFault(err);
    }
    try {
      return await this.applyVerified(actor, response);
    } catch (err) {
      throw upstreamFault(err);
    }
  }
}

/** The admin's call was fine: a refused answer is the upstream's fault (502), with the same code. */
function upstreamFault(err: unknown): unknown {
  if (err instanceof AppError && err.status === 400) return new AppError(err.code, 502, `the upstream's answer was refused: ${err.message}`, err.details);
  return err;
}
