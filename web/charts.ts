// Pictures: Observable Plot for charts; canvas for activation maps and input images (thousands of
// cells per example), coloured through a Plot colour scale with its legend drawn by Plot.
import * as Plot from '@observablehq/plot';
import { h } from './util.js';

export { Plot };

/** 256 RGB entries of a colour scheme (viridis by default) over [0, 1], from Plot's scale. */
function lut(scheme: string): Uint8ClampedArray {
  const scale = Plot.scale({ color: { type: 'linear', scheme: scheme as Plot.ColorScheme, domain: [0, 1] } });
  const out = new Uint8ClampedArray(256 * 3);
  const probe = document.createElement('canvas').getContext('2d')!;
  for (let i = 0; i < 256; i++) {
    probe.fillStyle = String(scale.apply(i / 255));
    const hex = probe.fillStyle; // normalized to #rrggbb
    out[i * 3] = parseInt(hex.slice(1, 3), 16); out[i * 3 + 1] = parseInt(hex.slice(3, 5), 16); out[i * 3 + 2] = parseInt(hex.slice(5, 7), 16);
  }
  return out;
}

const luts = new Map<string, Uint8ClampedArray>();
function colours(scheme: string): Uint8ClampedArray {
  let l = luts.get(scheme);
  if (!l) { l = lut(scheme); luts.set(scheme, l); }
  return l;
}

/** One H×W map (values[offset … offset+H×W]) as a canvas scaled `zoom`×, coloured over [lo, hi]; NaN grey. */
export function mapCanvas(values: Float32Array, offset: number, H: number, W: number, lo: number, hi: number, opts: { zoom?: number; scheme?: string; title?: string } = {}): HTMLCanvasElement {
  const c = h('canvas', { width: W, height: H, title: opts.title });
  const zoom = opts.zoom ?? 3;
  c.style.width = `${W * zoom}px`; c.style.height = `${H * zoom}px`;
  const ctx = c.getContext('2d')!;
  const img = ctx.createImageData(W, H);
  const cl = colours(opts.scheme ?? 'viridis');
  const span = hi > lo ? 255 / (hi - lo) : 0;
  for (let i = 0; i < H * W; i++) {
    const v = values[offset + i]!;
    const o = i * 4;
    if (Number.isNaN(v)) { img.data[o] = img.data[o + 1] = img.data[o + 2] = 160; }
    else {
      const k = Math.max(0, Math.min(255, Math.round((v - lo) * span))) * 3;
      img.data[o] = cl[k]!; img.data[o + 1] = cl[k + 1]!; img.data[o + 2] = cl[k + 2]!;
    }
    img.data[o + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

/** An input image: [1,H,W] grey or [3,H,W] colour (each scaled over its own range), or [H,W]. */
export function imageCanvas(values: Float32Array, shape: number[], zoom = 3): HTMLCanvasElement {
  const [C, H, W] = shape.length === 3 ? shape as [number, number, number] : shape.length === 2 ? [1, shape[0]!, shape[1]!] : [1, 1, values.length];
  const c = h('canvas.image', { width: W, height: H });
  c.style.width = `${W * zoom}px`; c.style.height = `${H * zoom}px`;
  const ctx = c.getContext('2d')!;
  const img = ctx.createImageData(W, H);
  let lo = Infinity, hi = -Infinity;
  for (const v of values) if (Number.isFinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; }
  const s = hi > lo ? 255 / (hi - lo) : 0;
  for (let i = 0; i < H * W; i++) {
    for (let k = 0; k < 3; k++) img.data[i * 4 + k] = (values[(C >= 3 ? k : 0) * H * W + i]! - lo) * s;
    img.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

/** The colour scale of a set of maps, drawn by Plot. */
export function legend(lo: number, hi: number, label: string, scheme = 'viridis'): Element {
  return Plot.legend({ color: { type: 'linear', scheme: scheme as Plot.ColorScheme, domain: [lo, hi > lo ? hi : lo + 1], label }, width: 280 }) as Element;
}

/**
 * All channels of one example's [C,H,W] activations as a grid of heatmaps on one colour scale;
 * `onPick(c)` when a channel is clicked. A vector [N] is one strip.
 */
export function mapGrid(values: Float32Array, shape: number[], lo: number, hi: number, onPick?: (c: number) => void, selected?: number): HTMLElement {
  const [C, H, W] = shape.length >= 3 ? [shape[0]!, shape[1]!, shape.slice(2).reduce((a, b) => a * b, 1)] : shape.length === 2 ? [1, shape[0]!, shape[1]!] : [1, 1, shape[0] ?? values.length];
  const zoom = Math.max(1, Math.min(4, Math.floor(96 / Math.max(H, W)))) || 1;
  const grid = h('div.mapgrid');
  for (let c = 0; c < C; c++) {
    const cell = h('figure.map', { 'data-channel': c, class: `map${c === selected ? ' selected' : ''}`, onclick: onPick ? () => onPick(c) : undefined },
      mapCanvas(values, c * H * W, H, W, lo, hi, { zoom: H === 1 ? Math.max(2, Math.floor(600 / W)) : zoom, title: `channel ${c}` }), h('figcaption', null, C > 1 ? `${c}` : ''));
    if (H === 1) (cell.firstChild as HTMLCanvasElement).style.height = '24px';
    grid.append(cell);
  }
  return grid;
}
