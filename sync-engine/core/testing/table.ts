import { expect } from 'vitest';
import type { Entry } from '../entry.js';
import type { CompareMode, Plan, ReconcileOptions, SyncMode } from '../plan.js';
import { reconcile } from '../reconcile.js';
import { describeSide, tree } from './fixtures.js';
import { applyPlanInMemory } from './memoryApply.js';

/**
 * Table-driven planner tests in the manner of Mutagen's `reconcile_test.go`: each case names the trees and the plan
 * it expects, for every listed mode and compare mode. Every case is also applied in memory (which enforces the
 * endpoint contracts) and reconciled again: the second plan must have no actions and no ancestor updates.
 */
export interface Case {
  readonly description: string;
  readonly modes: readonly SyncMode[];
  /** Compare modes this case holds for; `size-mtime` when absent. */
  readonly compare?: readonly CompareMode[];
  readonly precisionMs?: number;
  readonly caseInsensitive?: ReconcileOptions['caseInsensitive'];
  readonly ignoreExecutable?: boolean;
  readonly ancestor: readonly Entry[];
  readonly local: readonly Entry[];
  readonly remote: readonly Entry[];
  readonly unlisted?: { readonly local?: readonly string[]; readonly remote?: readonly string[] };
  readonly expected: Expected;
}

export interface Expected {
  /** Each side's actions as `describeAction` writes them, in order (`<aside>` stands for an aside name). */
  readonly local?: readonly string[];
  readonly remote?: readonly string[];
  /** `path → conflictPath` */
  readonly conflicts?: readonly string[];
  /** `[path, message pattern]`, in order. */
  readonly problems?: readonly (readonly [string, RegExp])[];
  readonly inSync?: readonly string[];
  readonly forget?: readonly string[];
}

export const HOST = 'laptop';
/** 2026-11-23 10:15:00 UTC: conflict names carry `20261123-101500`. */
export const NOW = Date.UTC(2026, 10, 23, 10, 15, 0);
export const TAG = 'conflict-laptop-20261123-101500';

export function optionsFor(testCase: Case, mode: SyncMode, compare: CompareMode): ReconcileOptions {
  return {
    mode,
    compare,
    mtimePrecisionMs: testCase.precisionMs ?? 1,
    host: HOST,
    now: NOW,
    ...(testCase.caseInsensitive === undefined ? {} : { caseInsensitive: testCase.caseInsensitive }),
    ...(testCase.ignoreExecutable === undefined ? {} : { ignoreExecutable: testCase.ignoreExecutable }),
  };
}

function normalise(lines: readonly string[]): string[] {
  return lines.map((line) => line.replace(/\.tether-replaced-[0-9a-f]+(-\d+)?/g, '<aside>'));
}

/** Runs one case for one mode and compare mode; returns the plan. */
export function runCase(testCase: Case, mode: SyncMode, compare: CompareMode): Plan {
  const options = optionsFor(testCase, mode, compare);
  const unlisted = { local: testCase.unlisted?.local ?? [], remote: testCase.unlisted?.remote ?? [] };
  const state = {
    ancestor: tree(...testCase.ancestor),
    local: tree(...testCase.local),
    remote: tree(...testCase.remote),
  };
  const plan = reconcile({ ...state, unlisted }, options);
  const { expected } = testCase;

  expect(normalise(describeSide(plan, 'local')), 'local actions').toEqual(expected.local ?? []);
  expect(normalise(describeSide(plan, 'remote')), 'remote actions').toEqual(expected.remote ?? []);
  expect(
    plan.conflicts.map((c) => `${c.path} → ${c.conflictPath}`),
    'conflicts',
  ).toEqual(expected.conflicts ?? []);
  const problems = expected.problems ?? [];
  expect(
    plan.problems.map((p) => p.path),
    `problems: ${JSON.stringify(plan.problems)}`,
  ).toEqual(problems.map(([path]) => path));
  plan.problems.forEach((problem, i) => expect(problem.message).toMatch(problems[i]?.[1] ?? /^$/));
  expect(plan.inSync.map((e) => e.path).sort(), 'inSync').toEqual([...(expected.inSync ?? [])].sort());
  expect([...plan.forget].sort(), 'forget').toEqual([...(expected.forget ?? [])].sort());

  // Applying the plan is valid for the endpoints, and afterwards the planner has nothing left to do.
  const after = applyPlanInMemory(state, plan);
  const again = reconcile({ ...after, unlisted }, options);
  expect(describeSide(again, 'local'), 'second plan, local').toEqual([]);
  expect(describeSide(again, 'remote'), 'second plan, remote').toEqual([]);
  expect(again.conflicts, 'second plan, conflicts').toEqual([]);
  expect(
    again.inSync.map((e) => e.path),
    'second plan, inSync',
  ).toEqual([]);
  expect(again.forget, 'second plan, forget').toEqual([]);
  return plan;
}

/** Expands cases into `[name, case, mode, compare]` rows for `it.each`. */
export function rows(cases: readonly Case[]): [string, Case, SyncMode, CompareMode][] {
  return cases.flatMap((testCase) =>
    testCase.modes.flatMap((mode) =>
      (testCase.compare ?? ['size-mtime']).map((compare): [string, Case, SyncMode, CompareMode] => [
        `${testCase.description} [${mode}, ${compare}]`,
        testCase,
        mode,
        compare,
      ]),
    ),
  );
}
