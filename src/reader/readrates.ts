// The read model of Eq. 5.4 (see costmodel/model.ts: a fixed cost, per RowBlock, per segment decoded,
// per MB decoded, per MB on disk, per MB of result), measured: fitted per codec and scheme family to real
// reads — the calibration reads as an undecayed anchor, the reads queries make decayed — kept in the
// MetadataDB's meta table and updated from every read a query makes (saved a second apart at most, and
// at close). Rates belong to a machine: a store opened on another machine (or after `forget`) starts
// afresh and is calibrated again from a few timed reads.
import os from 'node:os';
import { addRead, emptySums, isFiniteList, isSums, READ_TERMS, solveRead, tRead, type LinearSums, type ReadFeatures } from '../costmodel/index.js';
import type { MetadataDB } from '../metadata/metadatadb.js';

// v2: features with `lanes` (a scan decodes on the worker threads): a fit of the features before is not reused
const META_KEY = 'read_model_v2';

/**
 * The fitted coefficients (`READ_TERMS`), how many reads they come from, the decayed running sums of the
 * reads queries made and the undecayed `anchor` of the calibration reads (see solveRead); `probed` while
 * they come from synthetic intermediates only (no read of the store's own yet).
 */
export interface ReadRate { coef: number[]; reads: number; sums: LinearSums; anchor?: LinearSums; probed?: boolean }

interface Saved { machine: string; rates: Record<string, ReadRate> }

/** The family a scheme reads like: pooling changes sizes, not how bytes become values. */
export function schemeFamily(scheme: string): string {
  const rest = scheme.split('+').filter((p) => !/^pool\(/.test(p));
  if (rest.length === 0 || rest[0] === 'none') return 'none';
  return rest[0]!.replace(/\(.*$/, '');
}

export function machineId(): string {
  const cpus = os.cpus();
  return `${os.hostname()}|${cpus[0]?.model ?? '?'}|${cpus.length}|${Math.round(os.totalmem() / 2 ** 30)}GB`;
}

/** A JSON value kept in the meta table for this machine: undefined when missing, unreadable or another machine's. */
export function machineMeta<T extends { machine: string }>(db: MetadataDB, key: string): T | undefined {
  try {
    const raw = db.getMeta(key);
    const s = raw ? (JSON.parse(raw) as T) : undefined;
    return s && s.machine === machineId() ? s : undefined;
  } catch { return undefined; }
}

/** Until the reads determine a line: everything charged per MB decoded, at their mean rate. */
function meanRate(samples: readonly { f: ReadFeatures; ms: number }[]): number[] {
  const mb = samples.reduce((a, x) => a + x.f.rawBytes, 0) / 1e6, ms = samples.reduce((a, x) => a + x.ms, 0);
  return [0, 0, 0, mb > 0 ? ms / mb : 0, 0, 0];
}

/** A query's read updates the model in memory; it reaches the MetadataDB at most this often (and at close). */
const SAVE_EVERY_MS = 1000;

export class ReadRates {
  private saved: Saved;
  private dirty = false;
  // from the handle's opening: its first query does not pay a write of its own
  private savedAt = performance.now();

  constructor(private readonly db: MetadataDB, private readonly codec: string) {
    const machine = machineId();
    const s = machineMeta<Saved>(db, META_KEY);
    // rates of another machine, or of a model with other terms (an older mistique), are not this one's;
    // nor are rates a damaged file changed (the statistics are not checksummed: what does not parse is measured again)
    const k = READ_TERMS.length;
    const fits = (r: ReadRate): boolean => typeof r === 'object' && r !== null && isFiniteList(r.coef, k) && typeof r.reads === 'number' && Number.isFinite(r.reads)
      && isSums(r.sums, k) && (r.anchor === undefined || isSums(r.anchor, k));
    const rates = typeof s?.rates === 'object' && s.rates !== null ? s.rates : {};
    this.saved = { machine, rates: Object.fromEntries(Object.entries(rates).filter(([, r]) => fits(r))) };
  }

  private key(scheme: string): string { return `${this.codec}|${schemeFamily(scheme)}`; }

  get(scheme: string): ReadRate | undefined { return this.saved.rates[this.key(scheme)]; }

  /** Folds in one measured read. */
  update(scheme: string, f: ReadFeatures, ms: number): ReadRate {
    const k = this.key(scheme);
    const old = this.saved.rates[k];
    // weighed against what the model predicted for it (a read slower than that counts less: see addRead)
    const sums = addRead(old?.sums, f, ms, undefined, old ? tRead(f, old.coef) : undefined);
    const coef = solveRead(sums, old?.anchor) ?? old?.coef ?? meanRate([{ f, ms }]);
    const r: ReadRate = { coef, reads: (old?.reads ?? 0) + 1, sums, ...(old?.anchor ? { anchor: old.anchor } : {}) };
    this.saved.rates[k] = r;
    // a one-row query must not pay a write of its own: folded reads are saved a second apart at most
    this.dirty = true;
    if (performance.now() - this.savedAt >= SAVE_EVERY_MS) this.save();
    return r;
  }

  /** Saves reads folded in since the last save (the Store calls it at close). */
  flush(): void {
    if (this.dirty) this.save();
  }

  /** Sets the model from calibration reads (replacing what was there): they become its anchor. */
  set(scheme: string, samples: readonly { f: ReadFeatures; ms: number }[]): ReadRate {
    let anchor = emptySums(READ_TERMS.length);
    for (const x of samples) anchor = addRead(anchor, x.f, x.ms, 1);
    const r: ReadRate = { coef: solveRead(undefined, anchor) ?? meanRate(samples), reads: samples.length, sums: emptySums(READ_TERMS.length), anchor };
    this.saved.rates[this.key(scheme)] = r;
    this.save();
    return r;
  }

  /** Takes a model fitted elsewhere on this machine (a probe of the same codec in a scratch store). */
  adopt(scheme: string, rate: ReadRate): ReadRate {
    const r: ReadRate = { coef: [...rate.coef], reads: rate.reads, sums: rate.sums, ...(rate.anchor ? { anchor: rate.anchor } : {}), probed: true };
    this.saved.rates[this.key(scheme)] = r;
    this.save();
    return r;
  }

  forget(): void {
    this.saved = { machine: machineId(), rates: {} };
    this.save();
  }

  all(): Record<string, ReadRate> { return { ...this.saved.rates }; }

  private save(): void {
    this.db.setMeta(META_KEY, JSON.stringify(this.saved));
    this.dirty = false;
    this.savedAt = performance.now();
  }
}

/** A read model as a line of text: its non-zero terms. */
export function describeRate(coef: readonly number[]): string {
  const parts = READ_TERMS.map((t, i) => (coef[i]! > 0 ? `${coef[i]!.toPrecision(3)} ${t}` : '')).filter(Boolean);
  return parts.length ? parts.join(' + ') : '0 ms';
}
