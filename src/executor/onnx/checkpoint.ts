// A network's checkpoint as one self-contained ONNX model. Exporters keep large weights in external data
// files beside the model (onnx.save_model(save_as_external_data=True), any model over 2 GB, many published
// ones): onnxruntime resolves them against the working directory when a model comes as bytes, so such a
// model logged from its own directory, and its stored copy re-ran nowhere. Its tensors are read into the
// model here, once, so that logging, the stored checkpoint and every re-run hold the weights.
import fs from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { MistiqueError } from '../../errors.js';

const { onnx } = onnxProto;
type TensorProto = InstanceType<typeof onnx.TensorProto>;
type GraphProto = InstanceType<typeof onnx.GraphProto>;

/** TensorProto.DataLocation.EXTERNAL */
const EXTERNAL = 1;
/** A protobuf message (one ONNX file) holds at most 2 GB. */
const MAX_MODEL_BYTES = 2 ** 31 - 1;

/** The checkpoint at `file`, its external data (if any) read into it. */
export function loadCheckpoint(file: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new MistiqueError('NOT_FOUND', `cannot read checkpoint ${file}: ${(err as Error).message}`, { cause: err });
  }
  return inlineExternalData(bytes, path.dirname(path.resolve(file)), file);
}

/**
 * `bytes` with every tensor kept in an external data file read into the model (files resolved against
 * `dir`, never outside it); the bytes as they are when none is. `dir` null: the model came as bytes, and
 * a tensor kept outside is an error that says to give its path.
 */
export function inlineExternalData(bytes: Uint8Array, dir: string | null, what = 'the checkpoint'): Uint8Array {
  let model: InstanceType<typeof onnx.ModelProto>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch {
    return bytes; // not ONNX: parseGraph says so
  }
  const outside = model.graph ? tensorsOf(model.graph as GraphProto).filter((t) => t.dataLocation === EXTERNAL) : [];
  if (outside.length === 0) return bytes;
  if (dir === null) {
    throw new MistiqueError('BAD_INPUT', `${what} keeps ${outside.length} tensor${outside.length === 1 ? '' : 's'} (${outside[0]!.name}, …) in external data files: give the model's path, not its bytes, so that they can be read beside it`);
  }
  let total = bytes.byteLength;
  for (const t of outside) {
    const kv = new Map(t.externalData.map((e) => [e.key ?? '', e.value ?? '']));
    const location = kv.get('location');
    if (!location) throw new MistiqueError('BAD_INPUT', `${what}: tensor ${t.name} is kept in external data without a location`);
    const file = path.resolve(dir, location);
    const rel = path.relative(dir, file);
    if (rel.startsWith('..') || path.isAbsolute(rel)) throw new MistiqueError('BAD_INPUT', `${what}: tensor ${t.name}'s external data ${JSON.stringify(location)} lies outside the model's directory ${dir}`);
    const offset = Number(kv.get('offset') ?? 0);
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch (err) {
      throw new MistiqueError('NOT_FOUND', `${what}: tensor ${t.name} is kept in ${file}, which cannot be read (${(err as Error).message}); keep the model's external data files beside it`, { cause: err });
    }
    const length = kv.has('length') ? Number(kv.get('length')) : size - offset;
    if (!(Number.isInteger(offset) && Number.isInteger(length) && offset >= 0 && length >= 0 && offset + length <= size)) {
      throw new MistiqueError('BAD_INPUT', `${what}: tensor ${t.name} is bytes ${offset}…${offset + length} of ${file}, which holds ${size}`);
    }
    total += length;
    if (total > MAX_MODEL_BYTES) {
      throw new MistiqueError('UNSUPPORTED', `${what}: its weights are more than the 2 GB one ONNX file can hold, and mistique keeps a network's checkpoint as one file; log a smaller model, or its layers from your own code (store.log, python capture)`);
    }
    const data = Buffer.alloc(length);
    const fd = fs.openSync(file, 'r');
    try {
      for (let at = 0; at < length;) {
        const n = fs.readSync(fd, data, at, length - at, offset + at);
        if (n === 0) throw new MistiqueError('BAD_INPUT', `${what}: ${file} ended before tensor ${t.name}'s bytes`);
        at += n;
      }
    } finally {
      fs.closeSync(fd);
    }
    t.rawData = data;
    t.externalData = [];
    t.dataLocation = 0;
  }
  return onnx.ModelProto.encode(model).finish();
}

/**
 * Writes a network's checkpoint into the store's checkpoints directory (`file`). The same bytes already
 * there — the same model logged under another name, over other examples — are hard-linked instead of
 * copied: a ResNet-18 is 47 MB a copy. Deleting one name leaves the other's file as it was.
 */
export function storeCheckpoint(file: string, bytes: Uint8Array): void {
  const dir = path.dirname(file);
  const mine = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const name of fs.readdirSync(dir)) {
    const other = path.join(dir, name);
    if (other === file || !name.endsWith('.onnx')) continue;
    try {
      if (fs.statSync(other).size !== bytes.byteLength || !mine.equals(fs.readFileSync(other))) continue;
      fs.linkSync(other, file);
      return;
    } catch {
      // no hard links on this file system (or the file went away meanwhile): a copy of its own below
    }
  }
  fs.writeFileSync(file, bytes);
}

/** The tensors of a graph that can hold weights: its initializers and its nodes' tensor attributes, subgraphs included. */
function tensorsOf(g: GraphProto): TensorProto[] {
  const out: TensorProto[] = [...((g.initializer ?? []) as TensorProto[])];
  for (const n of g.node ?? []) {
    for (const a of n.attribute ?? []) {
      if (a.t) out.push(a.t as TensorProto);
      for (const t of a.tensors ?? []) out.push(t as TensorProto);
      if (a.g) out.push(...tensorsOf(a.g as GraphProto));
      for (const sg of a.graphs ?? []) out.push(...tensorsOf(sg as GraphProto));
    }
  }
  return out;
}
