// `mistique serve`: the web viewer on a store until interrupted.
import { MistiqueError } from '../errors.js';
import { openStore } from '../mistique.js';
import type { Io } from './commands.js';

export async function serveCmd(dir: string, o: { port?: string; host?: string }, io: Io, until?: Promise<unknown>): Promise<void> {
  const port = o.port === undefined ? 8080 : Number(o.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new MistiqueError('BAD_OPTION', `--port ${JSON.stringify(o.port)}: give a port number 0 … 65535 (0: any free port)`);
  if (o.host !== undefined && o.host.trim() === '') throw new MistiqueError('BAD_OPTION', '--host needs an address, e.g. --host 0.0.0.0 (every interface: anyone who can reach this machine can read the store)');
  const store = await openStore(dir, { create: false });
  try {
    const { serve } = await import('../serve/server.js');
    const server = await serve(store, { port, ...(o.host !== undefined ? { host: o.host } : {}) });
    io.out(`mistique: serving ${store.dir} at ${server.url}/store (Ctrl-C to stop)`);
    if (o.host !== undefined && !/^(127\.|::1$|localhost$)/.test(o.host)) io.err(`mistique serve: listening on ${o.host}: anyone who can reach this machine can read this store`);
    await (until ?? new Promise<void>((resolve) => { process.once('SIGINT', () => resolve()); process.once('SIGTERM', () => resolve()); }));
    await server.close();
  } finally {
    await store.close();
  }
}
