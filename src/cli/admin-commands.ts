import type { Command } from 'commander';
import { registerAccountCommands } from '../accounts/account-commands';
import { registerTokenCommands } from '../tokens/token-commands';
import { registerApiClientCommands } from '../toolkit/api-client-commands';
import { registerLicenseCommands } from '../licenses/license-commands';
import { registerHaCommands } from '../ha/ha-commands';
import { registerProductCommands } from '../products/simulator-commands';
import { registerHcnCommands } from '../hcn/hcn-commands';
import { registerSyncCommands } from '../sync/sync-commands';
import { registerUserRecoveryCommands } from '../users/admin-recovery';
import { registerKekCommands } from '../pki/kek-rotation';
import { registerProductAdminCommands } from '../products/product-commands';
import { registerUserCommands } from '../users/user-commands';
import { registerEventCommands } from '../events/event-commands';
import { registerAlertCommands } from '../licenses/alert-commands';
import { registerBackupCommands } from '../backup/backup-commands';

/** Feature command groups register themselves here. */
const COMMAND_GROUPS: ((program: Command) => void)[] = [
  registerAccountCommands,
  registerTokenCommands,
  registerApiClientCommands,
  registerLicenseCommands,
  registerHaCommands,
  registerProductCommands,
  registerHcnCommands,
  registerSyncCommands,
  registerUserRecoveryCommands,
  registerKekCommands,
  registerProductAdminCommands,
  registerUserCommands,
  registerEventCommands,
  registerAlertCommands,
  registerBackupCommands,
];

export function registerAdminCommands(program: Command): void {
  for (const register of COMMAND_GROUPS) register(program);
}
