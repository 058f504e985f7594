// `npm start` builds only when something the build reads changed since the last build:
// `write` records a finished build, `check` runs `npm run build` when a source is newer than that.
const { existsSync, readFileSync, readdirSync, statSync, writeFileSync } = require('node:fs');
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const STAMP = path.join(root, 'dist', '.build-stamp');
const INPUTS = ['src', 'console', 'bench', 'tests/support', 'prisma', 'scripts', 'openapi.yaml', 'tsconfig.json', 'package.json', 'package-lock.json'];
// Written by the build itself (prisma generate).
const OUTPUTS = new Set([path.join(root, 'src', 'generated')]);

function newest(file) {
  if (OUTPUTS.has(file) || !existsSync(file)) return 0;
  const stat = statSync(file);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let max = stat.mtimeMs;
  for (const name of readdirSync(file)) max = Math.max(max, newest(path.join(file, name)));
  return max;
}

if (process.argv[2] === 'write') {
  // The API description as JSON, so a start does not parse YAML (see src/http/openapi-spec.ts).
  const { parse } = require('yaml');
  writeFileSync(path.join(root, 'dist', 'openapi.json'), JSON.stringify(parse(readFileSync(path.join(root, 'openapi.yaml'), 'utf8'))));
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
} else {
  const built = existsSync(STAMP) ? statSync(STAMP).mtimeMs : 0;
  const changed = Math.max(...INPUTS.map((p) => newest(path.join(root, p))));
  if (changed > built) {
    execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  }
}
