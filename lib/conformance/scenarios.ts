/** Every OTR conformance scenario, in the order the kit runs them. */
import { HOSTILE_SCENARIOS } from './scenarios-hostile.js';
import { SESSION_SCENARIOS } from './scenarios-session.js';
import { SMP_SCENARIOS } from './scenarios-smp.js';
import type { Scenario } from './scenario.js';

export const OTR_SCENARIOS: readonly Scenario[] = [...SESSION_SCENARIOS, ...SMP_SCENARIOS, ...HOSTILE_SCENARIOS];

/**
 * Scenarios whose id equals one of `patterns` or starts with `pattern.` (e.g. `smp` or
 * `hostile.bad-mac`; OMEMO ones with `all` = OMEMO_SCENARIOS, e.g. `omemo.v2`).
 */
export function selectScenarios<S extends { readonly id: string } = Scenario>(patterns: readonly string[] | undefined, all: readonly S[] = OTR_SCENARIOS as unknown as readonly S[]): S[] {
  if (patterns === undefined || patterns.length === 0) return [...all];
  return all.filter((s) => patterns.some((p) => s.id === p || s.id.startsWith(`${p}.`)));
}

/** The family `--only` patterns name: OMEMO when every one starts with `omemo` (OMEMO ids all do). */
export function familyOfPatterns(patterns: readonly string[] | undefined): 'otr' | 'omemo' {
  return patterns !== undefined && patterns.length > 0 && patterns.every((p) => p === 'omemo' || p.startsWith('omemo.')) ? 'omemo' : 'otr';
}
