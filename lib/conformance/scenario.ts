/**
 * What a conformance scenario is: a named case with a fixed set-up (policies, fragment size),
 * a body that drives both parties through an `Exchange`, and checks that either pass or
 * throw a `ScenarioFailure` naming what was expected and what happened.
 */
import type { Exchange } from './exchange.js';
import type { Party } from './party.js';

/** A check that did not hold: the implementation under test does not conform. */
export class ScenarioFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScenarioFailure';
  }
}

/** How the two parties are set up before a scenario runs. */
export interface ScenarioSetup {
  /** Policy of the implementation under test (line-protocol policy words). */
  readonly iutPolicy: string;
  /** Policy of the reference peer. */
  readonly referencePolicy: string;
  /** Longest wire message on both sides; 0 = no fragmentation. */
  readonly fragmentSize?: number;
}

/** What a scenario's body gets. */
export interface ScenarioContext {
  readonly iut: Party;
  readonly reference: Party;
  readonly exchange: Exchange;
  /** The parties' instance tags from `init` (0 when the implementation does not say). */
  readonly iutInstanceTag: number;
  readonly referenceInstanceTag: number;
  /** Records a line of evidence for the report. */
  note(text: string): void;
}

/** A named conformance case. */
export interface Scenario {
  /** Stable id, e.g. `start.query.iut`. */
  readonly id: string;
  /** One-line title for the matrix. */
  readonly title: string;
  /** What it checks and why (spec section), for the HTML report and docs. */
  readonly description: string;
  readonly setup: ScenarioSetup;
  run(context: ScenarioContext): Promise<void>;
}

/** Throws `ScenarioFailure(message)` unless `condition`. */
export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new ScenarioFailure(message);
}

/** Both parties reach ENCRYPTED with the same version and session id and each other's fingerprint. */
export async function checkSecure(context: ScenarioContext, version: number): Promise<void> {
  const iut = await context.iut.status();
  const ref = await context.reference.status();
  check(iut.msgstate === 'encrypted', `the implementation is ${iut.msgstate}, expected encrypted`);
  check(ref.msgstate === 'encrypted', `the reference is ${ref.msgstate}, expected encrypted`);
  check(iut.protocol_version === version, `the implementation speaks version ${iut.protocol_version}, expected ${version}`);
  check(ref.protocol_version === version, `the reference speaks version ${ref.protocol_version}, expected ${version}`);
  check(iut.ssid !== null && iut.ssid === ref.ssid, `session ids differ: ${String(iut.ssid)} vs ${String(ref.ssid)}`);
  check(iut.their_fingerprint === context.reference.fingerprint, "the implementation did not authenticate the reference's key");
  check(ref.their_fingerprint === context.iut.fingerprint, "the reference did not authenticate the implementation's key");
  context.note(`encrypted, version ${version}, ssid ${String(iut.ssid)}`);
}

/** Runs the AKE with `starter` sending the Query Message. */
export async function akeStartedBy(context: ScenarioContext, starter: Party, version = 3): Promise<void> {
  await context.exchange.pump(starter, (await starter.startAke()).wire);
  await checkSecure(context, version);
}

/** Sends `text` from `from` and checks the other side shows exactly it, decrypted. */
export async function checkDelivered(context: ScenarioContext, from: Party, text: string): Promise<void> {
  const to = from === context.iut ? context.reference : context.iut;
  const before = to.shown.length;
  await context.exchange.pump(from, (await from.send(text)).wire);
  const shown = to.shown.slice(before);
  const who = to === context.iut ? 'the implementation' : 'the reference';
  check(shown.length === 1, `${who} showed ${shown.length} messages for one sent`);
  check(shown[0]?.text === text, `${who} showed a different text (${JSON.stringify(shown[0]?.text.slice(0, 60))})`);
  check(shown[0]?.decrypted === true, `${who} did not decrypt it`);
}
