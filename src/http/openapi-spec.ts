import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config/paths';

export const OPENAPI_JSON = path.join(PROJECT_ROOT, 'dist', 'openapi.json');

/**
 * The API description for the request validator: the JSON copy `npm run build` writes when it is
 * not older than openapi.yaml (parsing the YAML took ~120 ms of every start), else the YAML file.
 * A fresh object each time: the validator annotates the one it is given.
 */
export function openApiSpec(yamlFile: string): string | object {
  if (existsSync(OPENAPI_JSON) && statSync(OPENAPI_JSON).mtimeMs >= statSync(yamlFile).mtimeMs) {
    return JSON.parse(readFileSync(OPENAPI_JSON, 'utf8'));
  }
  return yamlFile;
}
