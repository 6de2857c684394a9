import fc from 'fast-check';

/**
 * One place for how hard the property tests try.
 * - FC_SEED: replay a run (fast-check prints the seed and path of every failure).
 * - FC_RUNS_FACTOR: scale every test's numRuns (mutation testing uses a fraction, see stryker.env).
 * - FC_END_ON_FAILURE=1: report the first counterexample without shrinking it.
 */
const seed = process.env.FC_SEED;
const factor = Number(process.env.FC_RUNS_FACTOR ?? '1');

fc.configureGlobal({
  ...(seed !== undefined && seed !== '' ? { seed: Number(seed) } : {}),
  ...(process.env.FC_END_ON_FAILURE === '1' ? { endOnFailure: true } : {}),
});

/** The number of cases for one property; the numbers in the tests add up to the suite's total in CI. */
export const runs = (numRuns: number): { numRuns: number } => ({
  numRuns: Math.max(1, Math.round(numRuns * (Number.isFinite(factor) && factor > 0 ? factor : 1))),
});
