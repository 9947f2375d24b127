// Arrow IPC codec: each segment an uncompressed Arrow IPC stream of one RecordBatch; reads are zero-copy.
import { tableToIPC } from 'apache-arrow';
import type { SegmentCodec } from './codec.js';
import { chunksToTable, ipcSegment } from './arrowbatch.js';

export function arrowCodec(): SegmentCodec {
  return {
    id: 'arrow',
    ext: 'arrows',
    inflate: 'arrow',
    async encode(chunks) {
      // Stryker disable next-line StringLiteral: apache-arrow writes the stream format by default
      return tableToIPC(chunksToTable(chunks), 'stream');
    },
    async decode(bytes) {
      return ipcSegment(bytes);
    },
  };
}
