import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { promisify } from 'node:util';
import type { HttpsListeners } from '../http/https-listeners';
import { peerOf, type ClusterConfig } from './cluster-config';

const run = promisify(execFile);

/** How a node takes and gives up the VIP. Both calls are idempotent. */
export interface VipDriver {
  acquire(): Promise<void>;
  release(): Promise<void>;
  held(): boolean;
}

/**
 * `bind`: the address is already on the host (loopback in tests, keepalived elsewhere); holding the
 * VIP means serving HTTPS on it. Open requests get a short grace period when the node steps down.
 */
export class BindVip implements VipDriver {
  private holding = false;
  constructor(private readonly listeners: HttpsListeners, private readonly address: string, private readonly port: number) {}

  async acquire() {
    if (this.holding) return;
    await this.listeners.listen(this.address, this.port);
    this.holding = true;
  }

  async release() {
    if (!this.holding) return;
    this.holding = false;
    await this.listeners.close(`${this.address}:${this.port}`, 500);
  }

  held() {
    return this.holding;
  }
}

/**
 * `iproute2`: add the address to an interface and announce it (gratuitous ARP for IPv4, an
 * unsolicited neighbour advertisement through the kernel's DAD for IPv6), then serve on it.
 */
export class Iproute2Vip implements VipDriver {
  private readonly bind: BindVip;
  constructor(
    listeners: HttpsListeners,
    private readonly address: string,
    port: number,
    private readonly iface: string,
    private readonly prefixLength: number,
    /** A neighbour on the segment (the peer), used to announce when arping is not installed. */
    private readonly neighbour?: string,
  ) {
    this.bind = new BindVip(listeners, address, port);
  }

  async acquire() {
    if (this.bind.held()) return;
    await addAddress(this.address, this.prefixLength, this.iface, this.neighbour);
    await this.bind.acquire();
  }

  async release() {
    await this.bind.release();
    await removeAddress(this.address, this.prefixLength, this.iface);
  }

  held() {
    return this.bind.held();
  }
}

export async function addAddress(address: string, prefixLength: number, iface: string, neighbour?: string) {
  const v6 = net.isIPv6(address);
  // nodad: the address may move here from a dead peer; waiting for DAD would delay the takeover.
  await run('ip', [...(v6 ? ['-6'] : []), 'addr', 'replace', `${address}/${prefixLength}`, 'dev', iface, ...(v6 ? ['nodad'] : [])]);
  if (v6) return;
  const announced = await run('arping', ['-U', '-c', '2', '-w', '1', '-I', iface, address]).then(() => true, () => false);
  if (!announced && neighbour) {
    await announceByArpRequest(address, iface, neighbour);
    // A host ignores a new mapping within 1 s (locktime) of its last update: say it again after that, as arping -c 2 does.
    setTimeout(() => void announceByArpRequest(address, iface, neighbour), 1100).unref();
  }
}

/**
 * Without arping: forget the neighbour, then send it one datagram from the VIP. The kernel
 * broadcasts an ARP request whose sender is VIP -> our MAC, and every host on the segment that
 * still maps the VIP to the old owner updates its entry (Linux does so for any ARP from a known
 * address), which is what a gratuitous ARP achieves.
 */
async function announceByArpRequest(address: string, iface: string, neighbour: string) {
  await run('ip', ['neigh', 'flush', 'to', neighbour, 'dev', iface]).catch(() => undefined);
  await new Promise<void>((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', () => (socket.close(), resolve()));
    socket.bind(0, address, () => socket.send(Buffer.alloc(1), 9, neighbour, () => (socket.close(), resolve())));
  });
}

export async function removeAddress(address: string, prefixLength: number, iface: string) {
  await run('ip', [...(net.isIPv6(address) ? ['-6'] : []), 'addr', 'del', `${address}/${prefixLength}`, 'dev', iface]).catch(() => undefined);
}

/** `none`: an external load balancer picks the node whose GET /ha/role answers 200. */
export class NoVip implements VipDriver {
  private active = false;
  async acquire() {
    this.active = true;
  }
  async release() {
    this.active = false;
  }
  held() {
    return this.active;
  }
}

export function vipDriver(config: ClusterConfig, listeners: HttpsListeners): VipDriver {
  const { vip, serverPort } = config;
  if (vip.driver === 'bind') return new BindVip(listeners, vip.address, serverPort);
  if (vip.driver === 'iproute2') {
    return new Iproute2Vip(listeners, vip.address, serverPort, vip.interface ?? 'eth0', vip.prefixLength ?? (net.isIPv6(vip.address) ? 128 : 32), peerOf(config).clusterAddress);
  }
  return new NoVip();
}
