// A worker thread's body: runs tasks (tasks.ts) and sends back results, their buffers transferred.
import { parentPort } from 'node:worker_threads';
import { loadCodec } from '../reader/scatter.js';
import { buffersOf, runTask, type Task } from './tasks.js';

parentPort!.on('message', async (m: { id: number; task: Task }) => {
  try {
    if (m.task.op === 'inflate') await loadCodec(m.task.codec);
    const result = runTask(m.task);
    parentPort!.postMessage({ id: m.id, result }, buffersOf(result));
  } catch (err) {
    parentPort!.postMessage({ id: m.id, error: { message: (err as Error).message, name: (err as Error).name } });
  }
});
