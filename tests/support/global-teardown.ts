import type { PgInstance } from './postgres';

export default async function globalTeardown(): Promise<void> {
  (globalThis as { __slmPg?: PgInstance }).__slmPg?.stop();
}
