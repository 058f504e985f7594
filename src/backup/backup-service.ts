import type { Writable } from 'node:stream';
import type { Store } from '../store/database';
import type { Clock } from '../clock';
import type { EventLog } from '../events/event-log';
import { writeBackup } from './backup-export';

/** Backups of a running server: one consistent snapshot streamed to the admin who asked. */
export class BackupService {
  constructor(private readonly store: Store, private readonly kek: Buffer, private readonly events: EventLog, private readonly clock: Clock) {}

  async write(actor: string, out: Writable): Promise<void> {
    const started = Date.now();
    try {
      const trailer = await writeBackup(this.store, this.kek, this.clock, out);
      const rows = Object.values(trailer.tables).reduce((sum, t) => sum + t.rows, 0);
      await this.events.record({ actor, action: 'store.backup', objectType: 'store', objectId: this.store.kind, outcome: 'success', details: { rows, ms: Date.now() - started } });
    } catch (err) {
      await this.events.record({ actor, action: 'store.backup', objectType: 'store', objectId: this.store.kind, outcome: 'failure', details: { reason: (err as Error).message.slice(0, 200) } });
      throw err;
    }
  }
}
