// A pipeline's source files as its re-runs meet them — the fingerprint a source stage keeps of the file
// it read, the check a re-run makes, what a re-run whose file is gone throws, what verify reports — and
// the stages a target needs. Kept apart from the operators (and their libraries) so that a Store opens
// without loading them.
import fs from 'node:fs';
import path from 'node:path';
import { MistiqueError } from '../errors.js';
import type { StageRow, WorkflowRow } from '../metadata/metadatadb.js';
import type { SourceFile } from './table.js';

/** Where a source stage's params keep the fingerprint of the file it read (never an operator's parameter). */
export const SOURCE = '$source';
export type Fingerprint = Omit<SourceFile, 'file'>;

export const fingerprint = ({ bytes, crc32 }: SourceFile): Fingerprint => ({ bytes, crc32 });

/** Errors of re-runs whose source file is gone: like STALE, a stored intermediate is read instead. */
export const sourcesGone = new WeakSet<Error>();
export const sourceGone = (err: unknown): boolean => err instanceof Error && sourcesGone.has(err);

/**
 * A re-run reads a source file from where it was logged: if its bytes changed since, the re-run would
 * give other values than the logged intermediate — STALE, which a query answers by reading instead when
 * the intermediate is stored. (A missing file is NOT_FOUND, from the operator.)
 */
export function sourceCheck(model: string, stage: string, now: SourceFile, was: Fingerprint): void {
  if (now.bytes === was.bytes && now.crc32 === was.crc32) return;
  throw new MistiqueError('STALE', `re-running ${model}.${stage} reads ${now.file}, which changed since ${model} was logged (${was.bytes} → ${now.bytes} bytes, CRC-32 ${was.crc32.toString(16)} → ${now.crc32.toString(16)}): a re-run would not give the logged values; read a stored intermediate, put the file back as it was, or log the pipeline again under a new name`);
}

/** The stages needed to produce `target`; model stages are leaves (their stored operator is loaded, not retrained). */
export function lineage(stages: readonly { name: string; inputs: string[]; output: 'table' | 'model' }[], target: string): Set<string> {
  const by = new Map(stages.map((s) => [s.name, s]));
  const need = new Set<string>();
  const visit = (n: string, root: boolean): void => {
    if (need.has(n)) return;
    const s = by.get(n);
    if (!s) throw new MistiqueError('NOT_FOUND', `stage ${n} is not in this pipeline`);
    need.add(n);
    if (s.output === 'model' && !root) return;
    for (const i of s.inputs) visit(i, false);
  };
  visit(target, true);
  return need;
}

/**
 * The source files a TRAD workflow's re-runs read (its stages without inputs), each gone or changed in
 * size since logging, with the stages that need it (verify: what cannot be re-run, and what not stored
 * cannot be read). A change of the same size is found when a re-run reads the file (sourceCheck).
 */
export function lostSources(wf: WorkflowRow, stageRows: readonly StageRow[]): { file: string; problem: 'gone' | 'changed'; stages: Set<string> }[] {
  const stages = stageRows.map((s) => ({ ...s, inputs: JSON.parse(s.inputs) as string[] }));
  const out: { file: string; problem: 'gone' | 'changed'; stages: Set<string> }[] = [];
  for (const s of stages) {
    if (s.inputs.length > 0) continue;
    const { [SOURCE]: was, ...params } = JSON.parse(s.params) as Record<string, unknown> & { [SOURCE]?: Fingerprint };
    if (typeof params.file !== 'string') continue;
    const file = path.resolve(wf.data_dir ?? '.', params.file);
    let size: number | null = null;
    try { size = fs.statSync(file).size; } catch { /* gone */ }
    if (size !== null && (!was || size === was.bytes)) continue;
    out.push({ file, problem: size === null ? 'gone' : 'changed', stages: new Set(stages.filter((t) => t.output === 'table' && lineage(stages, t.name).has(s.name)).map((t) => t.name)) });
  }
  return out;
}
