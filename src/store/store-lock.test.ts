import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StoreLock, StoreLockedError } from './store-lock';

describe('StoreLock', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'slm-lock-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('When the store is held by a live process, then a second acquire fails naming its pid and command', () => {
    const first = StoreLock.acquire(dir);
    let err: unknown;
    try {
      StoreLock.acquire(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreLockedError);
    expect((err as StoreLockedError).holder.pid).toBe(process.pid);
    expect((err as Error).message).toContain(`process ${process.pid} (`);
    first.release();
    expect(existsSync(path.join(dir, 'store.lock'))).toBe(false);
    StoreLock.acquire(dir).release();
  });

  test('When the lock names a process that is gone, then it is taken over', () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(path.join(dir, 'store.lock'), JSON.stringify({ pid: dead, command: 'node old', startedAt: 'then', host: os.hostname() }));
    const lock = StoreLock.acquire(dir);
    expect(JSON.parse(readFileSync(path.join(dir, 'store.lock'), 'utf8')).pid).toBe(process.pid);
    lock.release();
  });

  test('When the pid of the lock now belongs to another process (reused), then it is taken over', () => {
    writeFileSync(path.join(dir, 'store.lock'), JSON.stringify({ pid: process.pid, command: 'node old', startedAt: 'then', host: os.hostname(), processStart: '1' }));
    const lock = StoreLock.acquire(dir);
    expect(JSON.parse(readFileSync(path.join(dir, 'store.lock'), 'utf8')).command).not.toBe('node old');
    lock.release();
  });
});
