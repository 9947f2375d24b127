// Starting a worker thread on one of mistique's modules, from dist (plain .js) or from source (tests and
// tsx run the .ts files, which a worker loads through tsx's loader).
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** A worker thread running the module `name` that sits beside the module at `callerUrl` (its import.meta.url). */
export function moduleWorker(callerUrl: string, name: string, opts: WorkerOptions = {}): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, callerUrl), opts);
  const src = JSON.stringify(new URL(`./${name}.ts`, callerUrl).href);
  return new Worker(`import('tsx/esm/api').then((t) => { t.register(); return import(${src}); })`, { ...opts, eval: true });
}
