// Pixel-level concepts for Network Dissection on Fashion-MNIST. The data set has no concept labels
// (Broden's textures, parts, colours), so these are made from each image's own pixels — honest, simple
// and checkable, not semantic part labels:
//   foreground  pixel ≥ 0.15 (the garment's silhouette; the background is exactly 0 in most images)
//   background  the complement of foreground
//   upper       foreground pixels in the top half of the garment's bounding box (collars, shoulders, shafts)
//   lower       foreground pixels in the bottom half of that box (hems, soles, trouser legs)
//   edge        Sobel gradient magnitude ≥ 1.0 on the [0, 1] image: outlines and strong texture
//   bright      pixel ≥ 0.75: highlights, light fabric, prints
// Images are rows × 28 × 28 values in [0, 1] (as logged: pixel / 255).
import type { ConceptSet } from '../../src/diagnostics/netdissect.js';

export const CONCEPTS = ['foreground', 'background', 'upper', 'lower', 'edge', 'bright'] as const;

export function pixelConcepts(images: ArrayLike<number>, rowIds: Int32Array, size = 28): ConceptSet {
  const n = rowIds.length, SS = size * size;
  const masks = CONCEPTS.map(() => new Uint8Array(n * SS));
  const [fg, bg, up, lo, edge, bright] = masks as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  const px = (i: number, y: number, x: number) => images[i * SS + Math.min(size - 1, Math.max(0, y)) * size + Math.min(size - 1, Math.max(0, x))]!;
  for (let i = 0; i < n; i++) {
    let y0 = size, y1 = -1;
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) if (px(i, y, x) >= 0.15) { y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
    const mid = (y0 + y1 + 1) / 2;
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
      const p = i * SS + y * size + x, v = px(i, y, x);
      const f = v >= 0.15 ? 1 : 0;
      fg[p] = f; bg[p] = 1 - f;
      up[p] = f && y < mid ? 1 : 0;
      lo[p] = f && y >= mid ? 1 : 0;
      bright[p] = v >= 0.75 ? 1 : 0;
      const gx = px(i, y - 1, x + 1) + 2 * px(i, y, x + 1) + px(i, y + 1, x + 1) - px(i, y - 1, x - 1) - 2 * px(i, y, x - 1) - px(i, y + 1, x - 1);
      const gy = px(i, y + 1, x - 1) + 2 * px(i, y + 1, x) + px(i, y + 1, x + 1) - px(i, y - 1, x - 1) - 2 * px(i, y - 1, x) - px(i, y - 1, x + 1);
      edge[p] = Math.hypot(gx, gy) >= 1 ? 1 : 0;
    }
  }
  return { names: [...CONCEPTS], size, rowIds, masks };
}
