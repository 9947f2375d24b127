// Fashion-MNIST from the IDX files of Debian's `dataset-fashion-mnist` package
// (/usr/share/datasets/fashion-mnist/*.gz): 60 000 train + 10 000 test images, 28×28 grey, 10 classes.
// Images stream as float32 NCHW batches scaled to [0, 1]. A subset of the test set is committed
// (datasets/fashion-mnist/subset/) so that tests and the demo run without the package.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { MistiqueError } from '../../src/errors.js';
import { packageRoot } from '../../src/paths.js';

export const SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';
export const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;

export interface ImageSet { n: number; images: Uint8Array; labels: Uint8Array }

function readIdx(file: string, magic: number): { dims: number[]; data: Uint8Array } {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    throw new MistiqueError('NOT_FOUND', `cannot read ${file}: install the dataset with \`apt-get install dataset-fashion-mnist\` (or use the committed subset)`, { cause: err });
  }
  if (file.endsWith('.gz')) buf = zlib.gunzipSync(buf);
  const m = buf.readUInt32BE(0);
  if (m !== magic) throw new MistiqueError('CORRUPT', `${file} is not an IDX file of the expected kind (magic ${m.toString(16)}, wanted ${magic.toString(16)})`);
  const nd = m & 0xff;
  const dims = Array.from({ length: nd }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  const off = 4 + 4 * nd;
  const size = dims.reduce((a, b) => a * b, 1);
  if (buf.length < off + size) throw new MistiqueError('CORRUPT', `${file} is truncated: ${buf.length - off} of ${size} bytes`);
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + off, size) };
}

/** Loads `train` (60 000) or `t10k` (10 000) from a directory of IDX files (default: the Debian package's). */
export function loadFashionMnist(split: 'train' | 't10k', dir = SYSTEM_DIR): ImageSet {
  const ext = fs.existsSync(path.join(dir, `${split}-images-idx3-ubyte.gz`)) ? '.gz' : '';
  const img = readIdx(path.join(dir, `${split}-images-idx3-ubyte${ext}`), 0x00000803);
  const lab = readIdx(path.join(dir, `${split}-labels-idx1-ubyte${ext}`), 0x00000801);
  if (img.dims[0] !== lab.dims[0] || img.dims[1] !== 28 || img.dims[2] !== 28) {
    throw new MistiqueError('CORRUPT', `${dir}: ${img.dims.join('×')} images for ${lab.dims[0]} labels; expected N×28×28 and N labels`);
  }
  return { n: img.dims[0]!, images: img.data, labels: lab.data };
}

/** The committed subset of the test set (the first images of t10k), for tests and the demo. */
export function loadSubset(): ImageSet {
  return loadFashionMnist('t10k', path.join(packageRoot(), 'datasets', 'fashion-mnist', 'subset'));
}

/** float32 NCHW batches ([n, 1, 28, 28], values in [0, 1]) with their labels and row ids (image indices). */
export function* batches(set: ImageSet, batchSize: number, limit = set.n): Generator<{ x: Float32Array; labels: Uint8Array; rowIds: Int32Array }> {
  const n = Math.min(limit, set.n);
  for (let s = 0; s < n; s += batchSize) {
    const e = Math.min(n, s + batchSize);
    const x = new Float32Array((e - s) * 784);
    for (let i = 0; i < x.length; i++) x[i] = set.images[s * 784 + i]! / 255;
    yield { x, labels: set.labels.slice(s, e), rowIds: Int32Array.from({ length: e - s }, (_, i) => s + i) };
  }
}

/** Writes the first n test images and labels as IDX files (how the committed subset was made). */
export function writeSubset(n: number, dir: string): void {
  const set = loadFashionMnist('t10k');
  fs.mkdirSync(dir, { recursive: true });
  const head = (magic: number, dims: number[]): Buffer => {
    const b = Buffer.alloc(4 + 4 * dims.length);
    b.writeUInt32BE(magic, 0);
    dims.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
    return b;
  };
  fs.writeFileSync(path.join(dir, 't10k-images-idx3-ubyte.gz'), zlib.gzipSync(Buffer.concat([head(0x803, [n, 28, 28]), Buffer.from(set.images.subarray(0, n * 784))]), { level: 9 }));
  fs.writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte.gz'), zlib.gzipSync(Buffer.concat([head(0x801, [n]), Buffer.from(set.labels.subarray(0, n))]), { level: 9 }));
}

if (process.argv[1]?.endsWith('fashion-mnist/load.js') && process.argv[2] === '--write-subset') {
  const n = Number(process.argv[3] ?? 500);
  writeSubset(n, path.join(packageRoot(), 'datasets', 'fashion-mnist', 'subset'));
  console.log(`wrote the first ${n} test images to datasets/fashion-mnist/subset`);
}
