/**
 * Conformance scenarios for the Socialist Millionaires' Protocol (OTR v3 spec, "The
 * Socialist Millionaires' Protocol"): same secret, different secrets, with a question, and
 * an abort in the middle followed by a run that succeeds.
 */
import type { Party } from './party.js';
import { akeStartedBy, check, checkDelivered, type Scenario, type ScenarioContext } from './scenario.js';

const SETUP = { iutPolicy: 'default', referencePolicy: 'manual' } as const;

/** What each side finally reported for one run (libotr's OTRL_SMPEVENT_* names). */
function outcome(events: readonly string[]): string | undefined {
  return events.filter((e) => e === 'success' || e === 'failure' || e === 'abort' || e === 'cheated' || e === 'error').at(-1);
}

/** Runs SMP: `asker` starts with `askerSecret` (and `question`), the other side answers with `answerSecret`. */
async function runSmp(context: ScenarioContext, asker: Party, askerSecret: string, answerSecret: string, question?: string): Promise<{ asker?: string; answerer?: string; askedWith?: string }> {
  const answerer = asker === context.iut ? context.reference : context.iut;
  const from = { asker: asker.events.length, answerer: answerer.events.length };
  await context.exchange.pump(asker, (await asker.smpStart(askerSecret, question)).wire);
  const request = answerer.events.slice(from.answerer).find((e) => e.type === 'smp' && (e.event === 'ask_for_secret' || e.event === 'ask_for_answer'));
  const who = answerer === context.iut ? 'the implementation' : 'the reference';
  check(request !== undefined && request.type === 'smp', `${who} was not asked for the secret`);
  await context.exchange.pump(answerer, (await answerer.smpRespond(answerSecret)).wire);
  const result: { asker?: string; answerer?: string; askedWith?: string } = {};
  const a = outcome(asker.smpEventsSince(from.asker));
  const b = outcome(answerer.smpEventsSince(from.answerer));
  if (a !== undefined) result.asker = a;
  if (b !== undefined) result.answerer = b;
  if (request.question !== undefined) result.askedWith = request.question;
  return result;
}

export const SMP_SCENARIOS: readonly Scenario[] = [
  {
    id: 'smp.same-secret',
    title: 'SMP with the same secret succeeds on both sides',
    description: 'The implementation starts SMP; the reference answers with the same secret. Both must report success (the secret is combined with both fingerprints and the session id exactly as the spec says, so any difference in that derivation fails here).',
    setup: SETUP,
    async run(context) {
      await akeStartedBy(context, context.reference);
      const r = await runSmp(context, context.iut, 'correct horse battery staple', 'correct horse battery staple');
      check(r.asker === 'success', `the implementation reported ${String(r.asker)}, expected success`);
      check(r.answerer === 'success', `the reference reported ${String(r.answerer)}, expected success`);
    },
  },
  {
    id: 'smp.different-secret',
    title: 'SMP with different secrets fails on both sides',
    description: 'The reference starts SMP; the implementation answers with another secret. Both must report failure, not success and not an abort.',
    setup: SETUP,
    async run(context) {
      await akeStartedBy(context, context.reference);
      const r = await runSmp(context, context.reference, 'one secret', 'another secret');
      check(r.answerer === 'failure', `the implementation reported ${String(r.answerer)}, expected failure`);
      check(r.asker === 'failure', `the reference reported ${String(r.asker)}, expected failure`);
    },
  },
  {
    id: 'smp.question',
    title: 'SMP with a question (TLV 7)',
    description: 'The reference asks a question; the implementation must see the question text, and the same answer must succeed on both sides.',
    setup: SETUP,
    async run(context) {
      await akeStartedBy(context, context.reference);
      const question = 'Where did we meet? (café)';
      const r = await runSmp(context, context.reference, 'in the library', 'in the library', question);
      check(r.askedWith === question, `the implementation saw the question ${JSON.stringify(r.askedWith)}`);
      check(r.answerer === 'success' && r.asker === 'success', `outcomes ${String(r.answerer)} / ${String(r.asker)}, expected success / success`);
    },
  },
  {
    id: 'smp.abort-and-restart',
    title: 'SMP aborted mid-way, then a new run succeeds',
    description: 'The implementation starts SMP and the reference aborts instead of answering (TLV 6): the implementation must report the abort and return to its initial SMP state, so that a new run succeeds; data still flows.',
    setup: SETUP,
    async run(context) {
      await akeStartedBy(context, context.reference);
      const from = context.iut.events.length;
      await context.exchange.pump(context.iut, (await context.iut.smpStart('first secret')).wire);
      await context.exchange.pump(context.reference, (await context.reference.smpAbort()).wire);
      check(context.iut.smpEventsSince(from).includes('abort'), 'the implementation did not report the abort');
      const status = await context.iut.status();
      check(!status.smp_in_progress, 'the implementation still has an SMP in progress after the abort');
      const r = await runSmp(context, context.iut, 'second secret', 'second secret');
      check(r.asker === 'success' && r.answerer === 'success', `after the abort: ${String(r.asker)} / ${String(r.answerer)}, expected success / success`);
      await checkDelivered(context, context.iut, 'after SMP');
    },
  },
];
