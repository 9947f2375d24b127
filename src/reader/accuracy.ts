// The windows of measured ÷ estimated ratios (costmodel/accuracy.ts) the planner keeps, one per kind of
// run, in the MetadataDB's meta table. Like the read model they belong to a machine: on another one they
// start empty.
import { addRatio, isFiniteList, ratioBand, type Band } from '../costmodel/index.js';
import type { MetadataDB } from '../metadata/metadatadb.js';
import { machineId, machineMeta } from './readrates.js';

const META_KEY = 'estimate_accuracy';

interface Saved { machine: string; windows: Record<string, number[]> }

export class EstimateAccuracy {
  private saved: Saved;

  constructor(private readonly db: MetadataDB) {
    const s = machineMeta<Saved>(db, META_KEY);
    // windows a damaged file changed are dropped (the statistics are not checksummed): their runs count again
    const windows = typeof s?.windows === 'object' && s.windows !== null ? Object.fromEntries(Object.entries(s.windows).filter(([, w]) => isFiniteList(w))) : {};
    this.saved = { machine: machineId(), windows };
  }

  /** Records one run of `kind` against its estimate. */
  record(kind: string, estimatedMs: number, measuredMs: number): void {
    this.saved.windows[kind] = addRatio(this.saved.windows[kind], estimatedMs, measuredMs);
    this.db.setMeta(META_KEY, JSON.stringify(this.saved));
  }

  band(kind: string): Band | null { return ratioBand(this.saved.windows[kind]); }

  /** Every kind's band (kinds with fewer than three runs have none yet). */
  all(): Record<string, Band> {
    const out: Record<string, Band> = {};
    for (const k of Object.keys(this.saved.windows).sort()) {
      const b = ratioBand(this.saved.windows[k]);
      if (b) out[k] = b;
    }
    return out;
  }

  /** Drops the windows whose kind starts with `prefix` (their model was measured again). */
  forget(prefix: string): void {
    for (const k of Object.keys(this.saved.windows)) if (k.startsWith(prefix)) delete this.saved.windows[k];
    this.db.setMeta(META_KEY, JSON.stringify(this.saved));
  }
}
