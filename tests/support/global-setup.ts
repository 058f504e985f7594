import { startPostgres } from './postgres';

export default async function globalSetup(): Promise<void> {
  const pg = await startPostgres();
  process.env.SLM_TEST_PG_URL = pg.url();
  (globalThis as { __slmPg?: typeof pg }).__slmPg = pg;
}
