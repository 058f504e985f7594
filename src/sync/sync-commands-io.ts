import { readFileSync } from 'node:fs';
import { ApiError } from '../cli/api-client';

/** A file the admin named, or INVALID_FILE naming it (missing, unreadable, not JSON). */
export function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ApiError(400, 'INVALID_FILE', `${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

export function readJson(file: string): unknown {
  const text = readText(file);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError(400, 'INVALID_FILE', `${file}: ${(err as Error).message}`);
  }
}
