// PNG files (fast-png) and the colour map the diagnostics draw with.
import { encode } from 'fast-png';

/** Encodes width×height RGB pixels (row-major, 3 bytes a pixel) as a PNG file. */
export function encodePng(rgb: Uint8Array, width: number, height: number): Buffer {
  const png = encode({ width, height, data: rgb, channels: 3, depth: 8 });
  return Buffer.from(png.buffer, png.byteOffset, png.byteLength);
}

// viridis, sampled at 9 points
const VIRIDIS = [[68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141], [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37]];

/** Colour of t in [0, 1] (viridis); NaN is grey. */
export function colour(t: number): [number, number, number] {
  if (Number.isNaN(t)) return [128, 128, 128];
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x)), f = x - i;
  const a = VIRIDIS[i]!, b = VIRIDIS[i + 1]!;
  return [Math.round(a[0]! + f * (b[0]! - a[0]!)), Math.round(a[1]! + f * (b[1]! - a[1]!)), Math.round(a[2]! + f * (b[2]! - a[2]!))];
}
