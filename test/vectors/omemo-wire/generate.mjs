// Regenerates python-samples.json: real python-omemo 1.0 stanzas, device lists and bundles for both
// OMEMO versions (run: node test/vectors/omemo-wire/generate.mjs > test/vectors/omemo-wire/python-samples.json).
import { spawn } from 'node:child_process';
import readline from 'node:readline';
function peer(jid) {
  const p = spawn('/usr/bin/python3', [new URL('../../interop/omemo/omemo_peer.py', import.meta.url).pathname, 'serve', '--jid', jid], { stdio: ['pipe', 'pipe', 'ignore'] });
  const rl = readline.createInterface({ input: p.stdout }); const waiters = []; const lines = [];
  rl.on('line', (l) => { const w = waiters.shift(); w ? w(JSON.parse(l)) : lines.push(JSON.parse(l)); });
  const next = () => new Promise((res) => { const l = lines.shift(); l ? res(l) : waiters.push(res); });
  const call = async (req) => { p.stdin.write(JSON.stringify(req) + '\n'); const r = await next(); if (!r.ok) throw new Error(r.error); return r; };
  return { jid, next, call, kill: () => p.stdin.end() };
}
const out = {};
for (const NS of ['eu.siacs.conversations.axolotl', 'urn:xmpp:omemo:2']) {
const A = peer('alice@a.example'), B = peer('bob@b.example');
const ia = await A.next(), ib = await B.next();
await A.call({ op: 'pep_bundle', ns: NS, jid: B.jid, device_id: ib.device_id, xml: ib.bundle[NS] });
await A.call({ op: 'pep_devicelist', ns: NS, jid: B.jid, xml: ib.devicelist[NS] });
await B.call({ op: 'pep_bundle', ns: NS, jid: A.jid, device_id: ia.device_id, xml: ia.bundle[NS] });
await B.call({ op: 'pep_devicelist', ns: NS, jid: A.jid, xml: ia.devicelist[NS] });
const e1 = await A.call({ op: 'encrypt', ns: NS, to: [B.jid], plaintext: 'hi' });
const d1 = await B.call({ op: 'decrypt', from: A.jid, xml: e1.xml });
const e2 = await A.call({ op: 'encrypt', ns: NS, to: [B.jid], plaintext: 'again' });
out[NS] = { kex: e1.xml, empty: d1.outbox[0].xml, followup: e2.xml, devicelist: ia.devicelist[NS], bundle: ia.bundle[NS] };
A.kill(); B.kill();
}
console.log(JSON.stringify(out, null, 1));
