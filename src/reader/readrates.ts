// ρ_d of Eq. 5.4, measured: bytes decoded per ms when reading, per codec and scheme family, kept in the
// MetadataDB's meta table and updated from every real read. Rates belong to a machine: a store opened
// on another machine (or after `forget`) starts afresh and is calibrated again from a few timed reads.
import os from 'node:os';
import { addToFit, solveFit, updateRho, type ReadFit } from '../costmodel/index.js';
import type { MetadataDB } from '../metadata/metadatadb.js';

const META_KEY = 'read_rates';

/**
 * ρ (bytes per ms) and the fixed ms of one read, from a line fitted to real cold reads of different
 * sizes; until the reads span enough sizes, ρ is the mean rate and the fixed cost 0.
 */
export interface ReadRate { rho: number; reads: number; fixedMs?: number; fit?: ReadFit }

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

export class ReadRates {
  private saved: Saved;

  constructor(private readonly db: MetadataDB, private readonly codec: string) {
    const machine = machineId();
    let s: Saved | undefined;
    try {
      const raw = db.getMeta(META_KEY);
      s = raw ? (JSON.parse(raw) as Saved) : undefined;
    } catch { s = undefined; }
    this.saved = s && s.machine === machine ? s : { machine, rates: {} };
  }

  private key(scheme: string): string { return `${this.codec}|${schemeFamily(scheme)}`; }

  get(scheme: string): ReadRate | undefined { return this.saved.rates[this.key(scheme)]; }

  /** Folds in one measured read of `bytes` decoded bytes in `ms`. */
  update(scheme: string, bytes: number, ms: number): ReadRate {
    const k = this.key(scheme);
    const old = this.saved.rates[k];
    const fit = addToFit(old?.fit, bytes, ms);
    const line = solveFit(fit);
    const r: ReadRate = line ? { rho: line.rho, fixedMs: line.fixedMs, reads: (old?.reads ?? 0) + 1, fit }
      : { rho: updateRho(old?.rho, bytes, ms), fixedMs: old?.fixedMs ?? 0, reads: (old?.reads ?? 0) + 1, fit };
    this.saved.rates[k] = r;
    this.db.setMeta(META_KEY, JSON.stringify(this.saved));
    return r;
  }

  /** Sets a rate from calibration reads, each (bytes, ms) (replacing what was there). */
  set(scheme: string, samples: readonly { bytes: number; ms: number }[]): ReadRate {
    let fit: ReadFit | undefined;
    for (const x of samples) fit = addToFit(fit, x.bytes, x.ms, 1);
    const line = solveFit(fit);
    const bytes = samples.reduce((a, x) => a + x.bytes, 0), ms = samples.reduce((a, x) => a + x.ms, 0);
    const r: ReadRate = line ? { rho: line.rho, fixedMs: line.fixedMs, reads: samples.length, fit } : { rho: bytes / Math.max(ms, 1e-3), fixedMs: 0, reads: samples.length, fit };
    this.saved.rates[this.key(scheme)] = r;
    this.db.setMeta(META_KEY, JSON.stringify(this.saved));
    return r;
  }

  forget(): void {
    this.saved = { machine: machineId(), rates: {} };
    this.db.setMeta(META_KEY, JSON.stringify(this.saved));
  }

  all(): Record<string, ReadRate> { return { ...this.saved.rates }; }
}
