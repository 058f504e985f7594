import { existsSync } from 'node:fs';
import path from 'node:path';

/** The checkout's root, whether running from src/ (ts-jest) or dist/src/ (compiled). */
function findRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'prisma'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`cannot find the project root above ${start}`);
  }
}

export const PROJECT_ROOT = findRoot(__dirname);
