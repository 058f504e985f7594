import type { Role } from './cluster-state';
import { SyncPause, type SyncPauseState } from './sync-pause';
import { systemInfo, type SystemInfo } from './system-info';

/** What the HTTP layer and the CLI see of HA, in a cluster or on a stand-alone server. */

export type NodeRole = Role | 'standalone';

export type HaNodeView = {
  name: string;
  role: 'Active' | 'Standby';
  publicAddress: string;
  clusterAddress: string;
  goalState: string | null;
  reportedState: string | null;
  healthy: boolean | null;
  system: SystemInfo | null;
};

export type HaStatus =
  | { enabled: false; syncPaused?: SyncPauseState }
  | {
      enabled: true;
      status: 'Normal' | 'Degraded' | 'Failover';
      message: string;
      heartbeat: 'Connected' | 'Disconnected';
      lastHeartbeatAt: string | null;
      vip: { address: string; port: number; driver: string; heldByThisNode: boolean };
      thisNode: string;
      thisNodeRole: 'Active' | 'Standby';
      monitor: { reachable: boolean; lastContactAt: string | null };
      activeServer: HaNodeView | null;
      standbyServer: HaNodeView | null;
      replication: {
        streaming: boolean;
        standbys: { clientAddr: string | null; state: string; syncState: string; writeLagSeconds: number; flushLagSeconds: number; replayLagSeconds: number }[];
        replayLsn: string | null;
        receiverStatus: string | null;
      };
      events: { at: string; nodeName: string; reportedState: string; goalState: string; description: string }[];
    };

/** What the HTTP layer needs from HA, in a cluster or on a stand-alone server. */
export interface HaView {
  role(): NodeRole;
  vipAddress(): string | undefined;
  status(): Promise<HaStatus>;
  systemInfo(): SystemInfo;
}

/** A stand-alone server's status: after a teardown it says that synchronization waits for a confirmation. */
export function standaloneStatus(dataDir: string): HaStatus {
  const syncPaused = new SyncPause(dataDir).state();
  return syncPaused ? { enabled: false, syncPaused } : { enabled: false };
}

export class StandaloneHa implements HaView {
  constructor(private readonly dataDir: string) {}
  role(): NodeRole {
    return 'standalone';
  }
  vipAddress() {
    return undefined;
  }
  async status(): Promise<HaStatus> {
    return standaloneStatus(this.dataDir);
  }
  systemInfo() {
    return systemInfo(this.dataDir);
  }
}
