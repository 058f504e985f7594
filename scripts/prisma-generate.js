// `prisma generate` needs no engine in Prisma 7, but the CLI insists on locating a schema-engine
// binary it would otherwise download; any existing file satisfies it (we never run migrations with it).
const { execFileSync } = require('node:child_process');
const path = require('node:path');
execFileSync(process.execPath, [require.resolve('prisma/build/index.js'), 'generate'], {
  cwd: path.join(__dirname, '..'),
  stdio: ['ignore', 'ignore', 'inherit'],
  env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY || process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
});
