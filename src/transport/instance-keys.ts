import { createPublicKey, type KeyObject } from 'node:crypto';

/** Bounded: a full cache starts over, costing one parse per instance. */
const MAX_KEYS = 100_000;

/**
 * Parsed keys by instance id: parsing one costs more than verifying a signature with it, and a
 * known key lets an authorize skip the preflight read (its statement re-checks that the key is
 * still the instance's current one).
 */
export class InstanceKeys {
  private readonly keys = new Map<string, { pem: string; key: KeyObject }>();

  get(id: string): { pem: string; key: KeyObject } | undefined {
    return this.keys.get(id);
  }

  /** The instance's key, parsed once while it stays the same. */
  key(id: string, pem: string): KeyObject {
    const known = this.keys.get(id);
    if (known?.pem === pem) return known.key;
    const key = createPublicKey(pem);
    this.remember(id, pem, key);
    return key;
  }

  /** Keeps the key a product proved it holds. */
  remember(id: string, pem: string, key: KeyObject): void {
    if (this.keys.size >= MAX_KEYS) this.keys.clear();
    this.keys.set(id, { pem, key });
  }

  forget(id: string): void {
    this.keys.delete(id);
  }
}
