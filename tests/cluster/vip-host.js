// One "host" of the iproute2 VIP test, run inside a network namespace with `ip netns exec`:
// serves HTTPS answering its name, and takes or releases the VIP on "acquire"/"release" lines.
// Uses the compiled driver (npm test builds first).
const { readFileSync } = require('node:fs');
const readline = require('node:readline');
const { HttpsListeners } = require('../../dist/src/http/https-listeners');
const { Iproute2Vip } = require('../../dist/src/ha/vip');
const { loadConfig } = require('../../dist/src/config/config');

const [name, vip, port, neighbour, keyFile, certFile] = process.argv.slice(2);
const listeners = new HttpsListeners((_req, res) => res.end(name), { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') }, loadConfig({ SLM_KEK: Buffer.alloc(32).toString('base64') }).http);
const driver = new Iproute2Vip(listeners, vip, Number(port), 'eth0', 24, neighbour);
readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  try {
    if (line === 'acquire') await driver.acquire();
    if (line === 'release') await driver.release();
    console.log(`${line}d`);
  } catch (err) {
    console.log(`error ${err.message}`);
  }
});
