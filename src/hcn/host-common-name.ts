import type { SettingsStore } from '../config/settings-store';

/** Settings keys of the Host Common Name feature. */
export const HOST_COMMON_NAME_KEY = 'hostCommonName';
export const SYNC_REQUIRED_KEY = 'hostCommonName.syncRequired';

/**
 * The name products use to reach the server. Transport checks every message's `aud` against
 * `current()` and refuses `register` while `isSyncRequired()` (a change not yet synchronized).
 */
export class HostCommonNameService {
  constructor(private readonly settings: SettingsStore) {}

  async current(): Promise<string> {
    const name = await this.settings.get<string>(HOST_COMMON_NAME_KEY);
    if (!name) throw new Error('Host Common Name is not initialized');
    return name;
  }

  async isSyncRequired(): Promise<boolean> {
    return (await this.settings.get<boolean>(SYNC_REQUIRED_KEY)) === true;
  }
}
