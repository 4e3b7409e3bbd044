/**
 * The conformance kit's OMEMO line protocol (lib/conformance/line-protocol-omemo.ts) on top of
 * the real python-omemo 1.0 peer (test/interop/omemo/omemo_peer.py, one process per device):
 * a thin adapter, so the kit can run python-omemo as the implementation under test. Device
 * lists and bundles are handed to python's fake PEP (`pep_bundle`, `pep_devicelist`); the SCE
 * envelope of omemo:2 is built and read here (python-omemo encrypts whatever bytes it is given).
 */
import { utf8ToBytes } from '../../../lib/core/bytes.js';
import { systemRandom } from '../../../lib/core/random.js';
import type { LineOmemoVersion, OmemoLineDecryption, OmemoLineInfo, OmemoLineOutgoing } from '../../../lib/conformance/line-protocol-omemo.js';
import type { LineTransport } from '../../../lib/conformance/party.js';
import { wireKeys } from '../../../lib/conformance/scenario-omemo.js';
import { createSceEnvelope, parseSceEnvelope } from '../../../omemo/sce.js';
import { encodeDeviceList03 } from '../../../omemo/versions/v03/xml.js';
import { encodeDeviceList2 } from '../../../omemo/versions/v2/xml.js';
import { serializeXml } from '../../../omemo/xml-codec.js';
import { xmlElement } from '../../../omemo/xml-element.js';
import { NS_03, NS_2, PythonOmemoPeer, PythonPeerError, type OmemoNamespace, type PeerInfo, type PeerResponseBase } from '../omemo/python-omemo-peer.js';

type Json = Record<string, unknown>;

function str(o: Json, key: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new Error(`missing ${key}`);
  return v;
}

/** A LineTransport whose `init` starts one python-omemo process per device. */
export function pythonOmemoTransport(): LineTransport {
  let peers: PythonOmemoPeer[] = [];
  let version: LineOmemoVersion = '0.3';
  let ns: OmemoNamespace = NS_03;
  let jid = '';

  const outboxOf = (response: PeerResponseBase): OmemoLineOutgoing[] => response.outbox.map((m) => ({ to_jid: m.to, xml: m.xml }));

  const info = async (): Promise<OmemoLineInfo> => {
    const infos: PeerInfo[] = [];
    for (const p of peers) infos.push(await p.call<PeerInfo>({ op: 'info' }));
    const ids = infos.map((i) => i.device_id);
    const list = version === '0.3' ? encodeDeviceList03(ids) : encodeDeviceList2(ids.map((id) => ({ id })));
    const bundles: Record<string, string> = {};
    for (const i of infos) bundles[String(i.device_id)] = i.bundle[ns];
    return { jid, version, devices: ids.map((device_id) => ({ device_id })), device_list: serializeXml(list), bundles };
  };

  const handle = async (request: Json): Promise<Json> => {
    switch (request['cmd']) {
      case 'init': {
        const v = request['version'];
        if (v !== '0.3' && v !== '2') throw new Error("version must be '0.3' or '2'");
        version = v;
        ns = v === '0.3' ? NS_03 : NS_2;
        jid = str(request, 'jid');
        const count = typeof request['devices'] === 'number' ? request['devices'] : 1;
        peers = await Promise.all(Array.from({ length: count }, () => PythonOmemoPeer.start(jid)));
        return { ...(await info()) };
      }
      case 'info':
        return { ...(await info()) };
      case 'peer_devices': {
        const peerJid = str(request, 'jid');
        const bundles = request['bundles'] as Record<string, string>;
        const outbox: OmemoLineOutgoing[] = [];
        for (const p of peers) {
          for (const [id, xml] of Object.entries(bundles)) outbox.push(...outboxOf(await p.pepBundle(ns, peerJid, Number(id), xml)));
          outbox.push(...outboxOf(await p.pepDeviceList(ns, peerJid, str(request, 'device_list'))));
        }
        return { outbox };
      }
      case 'encrypt': {
        const to = str(request, 'to_jid');
        const text = str(request, 'plaintext');
        const which = request['device'];
        const peer = which === undefined ? peers[0] : peers.find((p) => p.info.device_id === which);
        if (peer === undefined) throw new Error(`no device ${String(which)}`);
        const plaintext = version === '0.3'
          ? text
          : serializeXml(createSceEnvelope({ content: [xmlElement('body', { xmlns: 'jabber:client' }, [], text)], from: jid, to }, systemRandom));
        const r = await peer.encrypt(ns, [to], plaintext);
        return { xml: r.xml, outbox: outboxOf(r) };
      }
      case 'decrypt': {
        const from = str(request, 'from_jid');
        const xml = str(request, 'xml');
        const keys = wireKeys(xml).filter((k) => k.jid === undefined || k.jid === jid);
        const results: OmemoLineDecryption[] = [];
        const outbox: OmemoLineOutgoing[] = [];
        for (const p of peers) {
          if (!keys.some((k) => k.rid === p.info.device_id)) continue;
          try {
            const r = await p.decrypt(from, xml);
            outbox.push(...outboxOf(r));
            const pt = r.plaintext;
            const text = pt === null || version === '0.3' ? pt : (parseSceEnvelope(utf8ToBytes(pt)).content.find((e) => e.name === 'body')?.text ?? '');
            results.push({ device_id: p.info.device_id, plaintext: text, error: null });
          } catch (error) {
            if (!(error instanceof PythonPeerError)) throw error;
            results.push({ device_id: p.info.device_id, plaintext: null, error: error.peerError });
          }
        }
        return { results, outbox };
      }
      case 'quit':
        return {};
      default:
        throw new Error(`unknown cmd ${String(request['cmd'])}`);
    }
  };

  return {
    async request(request: Json): Promise<Json> {
      try {
        return { ok: true, ...(await handle(request)) };
      } catch (error) {
        return { ok: false, error: error instanceof Error ? error.message : String(error) };
      }
    },
    async close(): Promise<void> {
      const all = peers;
      peers = [];
      for (const p of all) await p.close();
    },
  };
}
