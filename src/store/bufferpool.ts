// BufferPool: the in-memory store of the paper (InMemoryStore). Open partitions and decoded segments share one byte budget;
// decoded segments are dropped first (they can be read again), then open partitions are written out.
import type { DecodedSegment } from './codecs/index.js';
import type { OpenPartition } from './partition.js';

export class BufferPool {
  /** Open partitions in least-recently-used order (first = oldest). */
  readonly open = new Map<number, OpenPartition>();
  private readonly decoded = new Map<string, DecodedSegment>();
  private decodedBytes = 0;
  private clock = 0;

  constructor(readonly budget: number) {}

  get usedBytes(): number {
    let open = 0;
    for (const p of this.open.values()) open += p.rawBytes;
    return open + this.decodedBytes;
  }

  touch(p: OpenPartition): void {
    p.lastUse = ++this.clock;
    this.open.delete(p.id);
    this.open.set(p.id, p);
  }

  getDecoded(key: string): DecodedSegment | undefined {
    const d = this.decoded.get(key);
    if (d) {
      this.decoded.delete(key);
      this.decoded.set(key, d);
    }
    return d;
  }

  /** Whether a segment is decoded here, without touching its place in the LRU order. */
  hasDecoded(key: string): boolean {
    return this.decoded.has(key);
  }

  putDecoded(key: string, d: DecodedSegment): void {
    if (d.byteLength > this.budget / 4) return; // a huge segment would flush everything else
    this.decoded.set(key, d);
    this.decodedBytes += d.byteLength;
    this.trimDecoded(this.budget);
  }

  /** Drops decoded segments until the pool uses at most `target` bytes or none are left. */
  trimDecoded(target: number): void {
    let used = this.usedBytes;
    for (const [key, d] of this.decoded) {
      if (used <= target) break;
      this.decoded.delete(key);
      this.decodedBytes -= d.byteLength;
      used -= d.byteLength;
    }
  }

  dropDecoded(): void {
    this.decoded.clear();
    this.decodedBytes = 0;
  }

  /** Open partitions to write out, oldest first, so that the pool fits its budget after adding `incoming` bytes. */
  victims(incoming: number): OpenPartition[] {
    this.trimDecoded(Math.max(0, this.budget - incoming));
    let used = this.usedBytes + incoming;
    const out: OpenPartition[] = [];
    for (const p of this.open.values()) {
      if (used <= this.budget) break;
      out.push(p);
      used -= p.rawBytes;
    }
    return out;
  }
}
