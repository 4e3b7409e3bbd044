/** Every OTR conformance scenario, in the order the kit runs them. */
import { HOSTILE_SCENARIOS } from './scenarios-hostile.js';
import { SESSION_SCENARIOS } from './scenarios-session.js';
import { SMP_SCENARIOS } from './scenarios-smp.js';
import type { Scenario } from './scenario.js';

export const OTR_SCENARIOS: readonly Scenario[] = [...SESSION_SCENARIOS, ...SMP_SCENARIOS, ...HOSTILE_SCENARIOS];

/** Scenarios whose id equals one of `patterns` or starts with `pattern.` (e.g. `smp` or `hostile.bad-mac`). */
export function selectScenarios(patterns: readonly string[] | undefined, all: readonly Scenario[] = OTR_SCENARIOS): Scenario[] {
  if (patterns === undefined || patterns.length === 0) return [...all];
  return all.filter((s) => patterns.some((p) => s.id === p || s.id.startsWith(`${p}.`)));
}
