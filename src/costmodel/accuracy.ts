// How far the model's estimates have been from the runs that followed them: the ratios measured ÷
// estimated of the last runs of one kind (reads of one codec and scheme family, re-runs of networks, of
// pipelines). Pure functions; the planner keeps the windows. A user deciding whether to trust a choice
// sees the band its estimates have fallen in, and a choice inside that band is called a close call.

/** How many of the last runs of a kind the band is taken over. */
export const ACCURACY_WINDOW = 32;

/** The window with one more run (the oldest dropped past `size`); a run without a positive estimate or time is left out. */
export function addRatio(window: readonly number[] | undefined, estimatedMs: number, measuredMs: number, size = ACCURACY_WINDOW): number[] {
  const w = [...(window ?? [])];
  if (!(estimatedMs > 0) || !(measuredMs > 0) || !Number.isFinite(estimatedMs) || !Number.isFinite(measuredMs)) return w;
  w.push(measuredMs / estimatedMs);
  return w.length > size ? w.slice(w.length - size) : w;
}

/** The band of measured ÷ estimated over a window: 10th percentile, median, 90th (nearest rank). */
export interface Band { runs: number; low: number; median: number; high: number }

/** Null until three runs are in: fewer say nothing about a spread. */
export function ratioBand(window: readonly number[] | undefined): Band | null {
  if (!window || window.length < 3) return null;
  const s = [...window].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.max(0, Math.ceil(q * s.length) - 1)]!; // q ≤ 1: never past the end
  return { runs: s.length, low: at(0.1), median: at(0.5), high: at(0.9) };
}

/**
 * Whether the other path could well have been faster: the chosen path at the slow end of its band
 * against the other at the fast end of its own (a path without a band counts as estimated exactly).
 */
export function closeCall(choice: 'read' | 'rerun', readMs: number, rerunMs: number, readBand: Band | null, rerunBand: Band | null): boolean {
  const slowRead = readMs * Math.max(1, readBand?.high ?? 1), fastRead = readMs * Math.min(1, readBand?.low ?? 1);
  const slowRerun = rerunMs * Math.max(1, rerunBand?.high ?? 1), fastRerun = rerunMs * Math.min(1, rerunBand?.low ?? 1);
  return choice === 'read' ? slowRead > fastRerun : slowRerun > fastRead;
}
