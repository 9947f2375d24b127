// What the DNN benchmarks feed their networks: Fashion-MNIST test images as floats in [0, 1], and the
// last checkpoint datasets/train.py wrote of a network.
import fs from 'node:fs';
import path from 'node:path';
import { loadFashionMnist } from '../datasets/fashion-mnist/load.js';

/** The first n test images, N × 784 float32 in [0, 1]. */
export function testImages(n: number): Float32Array {
  const set = loadFashionMnist('t10k');
  const x = new Float32Array(n * 784);
  for (let i = 0; i < x.length; i++) x[i] = set.images[i]! / 255;
  return x;
}

/** The path of the last checkpoint `<net>_eNN.onnx` in `models`, or an error that says how to make them. */
export function lastCheckpoint(models: string, net: string): string {
  const files = fs.existsSync(models) ? fs.readdirSync(models).filter((f) => f.startsWith(`${net}_e`) && f.endsWith('.onnx')).sort() : [];
  if (files.length === 0) throw new Error(`no ${net}_eNN.onnx in ${models}: run npm run datasets:dnn first`);
  return path.join(models, files[files.length - 1]!);
}
