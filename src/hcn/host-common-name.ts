import { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import type { SettingsStore } from '../config/settings-store';
import type { Db } from '../store/database';
import type { EventLog } from '../events/event-log';
import { certificateNames, type Credential, type PkiService } from '../pki/pki-service';
import { normalizeHostCommonName } from './host-name-rules';

/** Settings keys of the Host Common Name feature. */
export const HOST_COMMON_NAME_KEY = 'hostCommonName';
export const SYNC_REQUIRED_KEY = 'hostCommonName.syncRequired';
export const CHANGED_AT_KEY = 'hostCommonName.changedAt';

type Clock = () => Date;
type SettingTx = Pick<Db, 'setting'>;
export type CertificateListener = (tls: Credential) => void;
export type HcnOptions = { dualStack: boolean; certsDir: string; logger: Logger; watchIntervalMs?: number };

/**
 * A synchronization clears the sync-required flag only when its request was made after the last
 * change: a request built before the change told the vendor cloud the old name.
 */
export function syncClearsFlag(changedAt: string | undefined, requestedAt: Date): boolean {
  return changedAt === undefined || new Date(changedAt).getTime() <= requestedAt.getTime();
}

/**
 * The name products use to reach the server. Transport checks every message's `aud` against
 * `current()` and refuses `register` while `isSyncRequired()` (a change not yet synchronized).
 * A change regenerates the TLS certificate and hands it to the HTTPS listeners (this node at
 * once, the other node of a cluster through `serveCertificates`' watch of the shared store).
 */
export class HostCommonNameService {
  private readonly listeners: CertificateListener[] = [];
  private publishedPem?: string;
  private seenTlsUpdate?: number;

  constructor(
    private readonly settings: SettingsStore,
    private readonly db: Db,
    private readonly pki: PkiService,
    private readonly events: EventLog,
    private readonly clock: Clock,
    private readonly opts: HcnOptions,
  ) {}

  async current(): Promise<string> {
    const name = await this.settings.get<string>(HOST_COMMON_NAME_KEY);
    if (!name) throw new Error('Host Common Name is not initialized');
    return name;
  }

  async isSyncRequired(): Promise<boolean> {
    return (await this.settings.get<boolean>(SYNC_REQUIRED_KEY)) === true;
  }

  /**
   * Stores the configured name on first start (canonical form when it is valid; an invalid one is
   * kept so the server still starts and the admin can fix it through the API). Returns the stored name.
   */
  async initialize(configured: string): Promise<string> {
    let name = configured;
    try {
      name = normalizeHostCommonName(configured, { dualStack: false }).name;
    } catch {
      this.opts.logger.warn({ hostCommonName: configured }, 'SLM_HOST_COMMON_NAME is not a valid Host Common Name: set one with `slm hcn set`');
    }
    return this.settings.initialize(HOST_COMMON_NAME_KEY, name);
  }

  async show() {
    const name = await this.current();
    return {
      name,
      syncRequired: await this.isSyncRequired(),
      changedAt: (await this.settings.get<string>(CHANGED_AT_KEY)) ?? null,
      certificate: certificateDetails((await this.pki.tlsCredential(name)).certPem),
    };
  }

  /**
   * Sets a new name: new TLS certificate, name, sync-required flag and event in one transaction
   * (both nodes of a cluster read them from the same database), then certs/server.pem and the
   * listeners. Setting the current name again changes nothing.
   */
  async change(actor: string, input: string) {
    const { name } = normalizeHostCommonName(input, { dualStack: this.opts.dualStack });
    const previous = await this.current();
    if (name === previous) return this.show();
    const changedAt = this.clock().toISOString();
    let tls: Credential;
    try {
      tls = await this.db.$transaction(async (tx) => {
        const issued = await this.pki.replaceTls(name, tx);
        await this.settings.set(HOST_COMMON_NAME_KEY, name, tx);
        await this.settings.set(SYNC_REQUIRED_KEY, true, tx);
        await this.settings.set(CHANGED_AT_KEY, changedAt, tx);
        await this.events.record(
          { actor, action: 'hcn.change', objectType: 'setting', objectId: HOST_COMMON_NAME_KEY, outcome: 'success', details: { from: previous, to: name } },
          tx,
        );
        return issued;
      });
    } catch (err) {
      this.pki.invalidate(); // replaceTls cached a certificate that was rolled back
      throw err;
    }
    await this.publish(name, tls);
    return this.show();
  }

  /** Called by a successful synchronization inside its transaction; see syncClearsFlag. */
  async markSynchronized(requestedAt: Date, tx: SettingTx): Promise<boolean> {
    const flag = await tx.setting.findUnique({ where: { key: SYNC_REQUIRED_KEY } });
    if (flag?.value !== true) return false;
    const changedAt = await tx.setting.findUnique({ where: { key: CHANGED_AT_KEY } });
    if (!syncClearsFlag(changedAt?.value as string | undefined, requestedAt)) return false;
    await this.settings.set(SYNC_REQUIRED_KEY, false, tx);
    return true;
  }

  /**
   * Hands every new TLS certificate to `listener`: changes made here at once, changes made by the
   * other node of a cluster (same database) within the watch interval. Returns the stop function.
   */
  serveCertificates(current: Credential, listener: CertificateListener): () => void {
    this.publishedPem = current.certPem;
    this.listeners.push(listener);
    let busy = false;
    // A database that is down (a stopped cluster node) fails every check: say so once, not every 2 s.
    let failing: string | undefined;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      this.reloadIfChangedElsewhere()
        .then(() => {
          if (failing !== undefined) this.opts.logger.info('the stored TLS certificate can be checked again');
          failing = undefined;
        })
        .catch((err: Error) => {
          const reason = err.message.trim().split('\n').pop() ?? String(err);
          if (reason !== failing) this.opts.logger.warn({ reason }, 'cannot check the stored TLS certificate (logged once until it changes)');
          failing = reason;
        })
        .finally(() => (busy = false));
    }, this.opts.watchIntervalMs ?? 2000);
    timer.unref();
    return () => {
      clearInterval(timer);
      this.listeners.splice(this.listeners.indexOf(listener), 1);
    };
  }

  /** Reloads the TLS certificate when the stored one changed (another node set a new name). */
  async reloadIfChangedElsewhere(): Promise<boolean> {
    const row = await this.db.keyMaterial.findUnique({ where: { name: 'tls' }, select: { updatedAt: true, certPem: true } });
    if (!row?.certPem || row.updatedAt.getTime() === this.seenTlsUpdate) return false;
    this.seenTlsUpdate = row.updatedAt.getTime();
    if (row.certPem === this.publishedPem) return false;
    this.pki.invalidate();
    // The certificate's own name, not the setting: the two are read separately and a re-read
    // name that does not match the certificate would make tlsCredential issue a new one.
    const name = certificateNames(row.certPem)[0];
    await this.publish(name, await this.pki.tlsCredential(name));
    return true;
  }

  private async publish(name: string, tls: Credential): Promise<void> {
    this.publishedPem = tls.certPem;
    await this.pki.writeCertificates(this.opts.certsDir, name);
    for (const listener of this.listeners) listener(tls);
  }
}

/** What an admin checks of a certificate (also used for the CA certificate signed by the upstream). */
export function certificateDetails(pem: string) {
  const cert = new X509Certificate(pem);
  return {
    subject: cert.subject.split('\n').join(', '),
    issuer: cert.issuer.split('\n').join(', '),
    subjectAltNames: certificateNames(pem),
    serialNumber: cert.serialNumber.toLowerCase(),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    fingerprintSha256: cert.fingerprint256,
  };
}
