// Prepares the embedded store's empty, migrated cluster once per build (initdb and the migrations in
// WASM take seconds; a first start copies this instead: see openPglite in src/store/database.ts).
// Skipped when the template was made by the installed PGlite from the same migrations already.
const { existsSync, readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const { PGLITE_TEMPLATE_DIR, TEMPLATE_MARKER, templateSource } = require(path.join(root, 'dist', 'src', 'store', 'embedded.js'));
const { applyMigrations } = require(path.join(root, 'dist', 'src', 'store', 'migrate.js'));
const { pgliteRunner } = require(path.join(root, 'dist', 'src', 'store', 'sql-runner.js'));
const { secureDataDir } = require(path.join(root, 'dist', 'src', 'store', 'data-dir.js'));

async function main() {
  const version = templateSource();
  const marker = path.join(PGLITE_TEMPLATE_DIR, TEMPLATE_MARKER);
  if (existsSync(marker) && readFileSync(marker, 'utf8').trim() === version) return;
  const partial = `${PGLITE_TEMPLATE_DIR}.new`;
  rmSync(partial, { recursive: true, force: true });
  const { PGlite } = await import('@electric-sql/pglite');
  const lite = new PGlite(partial);
  await lite.waitReady;
  await applyMigrations(pgliteRunner(lite));
  await lite.close();
  writeFileSync(path.join(partial, TEMPLATE_MARKER), `${version}\n`);
  secureDataDir(partial);
  rmSync(PGLITE_TEMPLATE_DIR, { recursive: true, force: true });
  renameSync(partial, PGLITE_TEMPLATE_DIR);
  console.log(`embedded store template prepared (${version})`);
}

// Not fatal: without a template a first start runs initdb itself, only slower.
main().catch((err) => {
  console.error(`pglite-template: not prepared (${err.message}); a new embedded store will run initdb`);
});
