import { createPublicKey, type KeyObject } from 'node:crypto';
import type { Clock } from '../clock';
import type { Db } from '../store/database';
import type { EventLog } from '../events/event-log';
import type { SettingsStore } from '../config/settings-store';
import { algorithmOf, keyFingerprint, parseVendorKey, upstreamKeyMissing } from './signed-response';

const UPSTREAM_KEY = 'sync.upstreamKey';

export type UpstreamKeyInfo = {
  fingerprintSha256: string;
  algorithm: string;
  /** Subject of the certificate it was installed from; null when installed as a bare public key. */
  certificateSubject: string | null;
  installedAt: string;
  installedBy: string;
  pem: string;
};

/**
 * The vendor's response-signing key, installed by an admin and kept in the database settings (both
 * nodes of a cluster verify with the same key). It is public: integrity, not secrecy, is what
 * matters, and only admins can replace it (an event records who did). Installing a new key
 * replaces the old one: responses signed with the old key are refused from then on.
 */
export class UpstreamKey {
  constructor(
    private readonly db: Db,
    private readonly settings: SettingsStore,
    private readonly events: EventLog,
    private readonly clock: Clock,
    private readonly onInstalled: () => void,
  ) {}

  async install(actor: string, pem: string): Promise<UpstreamKeyInfo> {
    const { key, certificateSubject } = parseVendorKey(pem);
    const info: UpstreamKeyInfo = {
      fingerprintSha256: keyFingerprint(key),
      algorithm: algorithmOf(key),
      certificateSubject,
      installedAt: this.clock().toISOString(),
      installedBy: actor,
      pem: key.export({ type: 'spki', format: 'pem' }) as string,
    };
    await this.db.$transaction(async (tx) => {
      await this.settings.set(UPSTREAM_KEY, info, tx);
      const { pem: _pem, ...details } = info;
      await this.events.record({ actor, action: 'sync.upstream-key.install', objectType: 'sync', objectId: info.fingerprintSha256, outcome: 'success', details }, tx);
    });
    this.onInstalled();
    return info;
  }

  async info(): Promise<UpstreamKeyInfo | null> {
    return (await this.settings.get<UpstreamKeyInfo>(UPSTREAM_KEY)) ?? null;
  }

  /** The key responses must be signed with; SYNC_UPSTREAM_KEY_MISSING when none is installed. */
  async publicKey(): Promise<KeyObject> {
    const info = await this.info();
    if (!info) throw upstreamKeyMissing();
    return createPublicKey(info.pem);
  }
}
