// Arrow IPC codec: each segment an uncompressed Arrow IPC stream of one RecordBatch; reads are zero-copy.
// Written as pieces (encodeParts): the stream's small messages joined, its body buffers the chunks'
// own values, so that the partition's writev takes them where they lie instead of after a copy.
import { AsyncByteQueue, RecordBatchStreamWriter } from 'apache-arrow';
import type { SegmentCodec } from './codec.js';
import { chunksToTable, ipcSegment } from './arrowbatch.js';

/** Pieces of at least this many bytes are written from where they lie; smaller runs are joined. */
const VIEW_BYTES = 16 * 1024;

/** Collects what the stream writer writes, piece by piece (the writer takes any AsyncByteQueue as its sink). */
class Pieces extends AsyncByteQueue {
  readonly parts: Uint8Array[] = [];
  override write(value: Uint8Array): void {
    if (value.byteLength > 0) this.parts.push(value);
  }
}

/** The IPC stream of `chunks` as pieces: views of the chunks' values, and the small pieces between them joined. */
export function ipcParts(chunks: Parameters<typeof chunksToTable>[0]): Uint8Array[] {
  const sink = new Pieces();
  const table = chunksToTable(chunks);
  const w = new RecordBatchStreamWriter();
  w.reset(sink, table.schema);
  for (const b of table.batches) w.write(b);
  w.finish();
  const out: Uint8Array[] = [];
  let small: Uint8Array[] = [];
  const join = (): void => {
    if (small.length > 0) out.push(small.length === 1 ? small[0]! : Buffer.concat(small));
    small = [];
  };
  for (const p of sink.parts) {
    if (p.byteLength >= VIEW_BYTES) { join(); out.push(p); } else small.push(p);
  }
  join();
  return out;
}

export function arrowCodec(): SegmentCodec {
  return {
    id: 'arrow',
    ext: 'arrows',
    inflate: 'arrow',
    async encode(chunks) {
      return Buffer.concat(ipcParts(chunks));
    },
    encodeParts: (chunks) => ipcParts(chunks),
    async decode(bytes) {
      return ipcSegment(bytes);
    },
  };
}
