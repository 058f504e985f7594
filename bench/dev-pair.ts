// throwaway: deploy a pair and keep it until SIGTERM
import { writeFileSync } from 'node:fs';
import { ClusterHarness } from '../tests/cluster/cluster-harness';
async function main() {
  const h = await ClusterHarness.create();
  process.once('SIGTERM', () => void h.destroy().then(() => process.exit(0)));
  const r = await h.deployPair();
  writeFileSync('/tmp/hadev/pair.json', JSON.stringify({ base: h.base, ports: h.ports, p: { env: h.p.env, pid: h.p.server?.pid }, s: { env: h.s.env, pid: h.s.server?.pid }, token: await h.login() }, null, 1));
  console.log('READY', JSON.stringify(r));
  setInterval(() => undefined, 1 << 30);
}
main().catch((e) => { console.error(e); process.exit(1); });
