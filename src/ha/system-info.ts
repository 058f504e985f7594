import { statfsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../config/paths';

export type SystemInfo = {
  hostname: string;
  version: string;
  uptimeSeconds: number;
  memory: { totalBytes: number; freeBytes: number };
  disk: { path: string; totalBytes: number; freeBytes: number };
  loadAverage: number[];
};

const VERSION = (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** What a node tells its peer (and the admin) about itself; the disk is the one holding the data directory. */
export function systemInfo(dataDir: string): SystemInfo {
  const fs = statfsSync(dataDir);
  return {
    hostname: os.hostname(),
    version: VERSION,
    uptimeSeconds: Math.round(process.uptime()),
    memory: { totalBytes: os.totalmem(), freeBytes: os.freemem() },
    disk: { path: dataDir, totalBytes: fs.blocks * fs.bsize, freeBytes: fs.bavail * fs.bsize },
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
