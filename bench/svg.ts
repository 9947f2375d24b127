// Minimal SVG line charts for benchmark results (no plotting dependency): series over a shared x axis,
// linear or log10 y axis, axis ticks and a legend.
export interface Series { name: string; values: number[]; color: string }

export function lineChart(opts: { title: string; xLabel: string; yLabel: string; x: string[]; series: Series[]; logY?: boolean }): string {
  const W = 760, H = 420, L = 80, R = 20, T = 40, B = 60;
  const all = opts.series.flatMap((s) => s.values).filter((v) => Number.isFinite(v) && (!opts.logY || v > 0));
  const f = (v: number): number => (opts.logY ? Math.log10(v) : v);
  let lo = Math.min(...all.map(f)), hi = Math.max(...all.map(f));
  if (opts.logY) { lo = Math.floor(lo); hi = Math.ceil(hi); } else { lo = Math.min(0, lo); hi = hi * 1.05 || 1; }
  if (hi === lo) hi = lo + 1;
  const n = opts.x.length;
  const px = (i: number): number => L + (n <= 1 ? 0 : (i / (n - 1)) * (W - L - R));
  const py = (v: number): number => T + (1 - (f(v) - lo) / (hi - lo)) * (H - T - B);
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`, `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(opts.title)}</text>`];
  const ticks = opts.logY ? Array.from({ length: hi - lo + 1 }, (_, k) => 10 ** (lo + k)) : Array.from({ length: 6 }, (_, k) => lo + ((hi - lo) * k) / 5);
  for (const t of ticks) {
    const y = py(t);
    out.push(`<line x1="${L}" x2="${W - R}" y1="${y}" y2="${y}" stroke="#ddd"/>`, `<text x="${L - 6}" y="${y + 4}" text-anchor="end">${fmt(t)}</text>`);
  }
  const step = Math.max(1, Math.ceil(n / 12));
  opts.x.forEach((lab, i) => { if (i % step === 0 || i === n - 1) out.push(`<text x="${px(i)}" y="${H - B + 16}" text-anchor="middle">${esc(lab)}</text>`); });
  out.push(`<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="black"/>`, `<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="black"/>`);
  out.push(`<text x="${W / 2}" y="${H - 16}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  out.push(`<text transform="translate(18 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`);
  opts.series.forEach((s, k) => {
    const pts = s.values.map((v, i) => (Number.isFinite(v) && (!opts.logY || v > 0) ? `${px(i).toFixed(1)},${py(v).toFixed(1)}` : null)).filter(Boolean);
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.join(' ')}"/>`);
    out.push(`<rect x="${L + 12}" y="${T + 8 + k * 18}" width="14" height="4" fill="${s.color}"/>`, `<text x="${L + 32}" y="${T + 14 + k * 18}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

/**
 * Grouped bars on a log10 y axis (paper Fig. 5-7): per group, one bar per series, each bar stacked from
 * its parts (e.g. fetch, compute); a star above the bars a group marks.
 */
export function barChart(opts: {
  title: string; yLabel: string; groups: string[];
  bars: { name: string; parts: { name: string; values: number[]; color: string }[] }[];
  marked?: (number | null)[];
}): string {
  const G = opts.groups.length, nb = opts.bars.length;
  const W = Math.max(760, 90 + G * (nb * 18 + 14)), H = 460, L = 80, R = 20, T = 48, B = 130;
  const totals = opts.bars.map((b) => opts.groups.map((_, g) => b.parts.reduce((s, p) => s + Math.max(0, p.values[g] ?? 0), 0)));
  const pos = [...totals.flat(), ...opts.bars.flatMap((b) => b.parts.flatMap((p) => p.values))].filter((v) => v > 0 && Number.isFinite(v));
  const lo = Math.floor(Math.log10(Math.min(...pos))), hi = Math.ceil(Math.log10(Math.max(...pos))) || lo + 1;
  const py = (v: number): number => T + (1 - (Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo || 1)) * (H - T - B);
  const gw = (W - L - R) / G, bw = Math.min(18, (gw - 10) / nb);
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`, `<text x="${W / 2}" y="20" text-anchor="middle" font-size="15">${esc(opts.title)}</text>`];
  for (let e = lo; e <= hi; e++) {
    const y = py(10 ** e);
    out.push(`<line x1="${L}" x2="${W - R}" y1="${y}" y2="${y}" stroke="#ddd"/>`, `<text x="${L - 6}" y="${y + 4}" text-anchor="end">${fmt(10 ** e)}</text>`);
  }
  opts.groups.forEach((g, gi) => {
    const x0 = L + gi * gw + (gw - nb * bw) / 2;
    opts.bars.forEach((b, bi) => {
      let acc = 0;
      for (const part of b.parts) {
        const v = Math.max(0, part.values[gi] ?? 0);
        if (v <= 0) continue;
        const y1 = py(acc + v), y0 = acc > 0 ? py(acc) : H - B;
        out.push(`<rect x="${(x0 + bi * bw).toFixed(1)}" y="${y1.toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${Math.max(0.5, y0 - y1).toFixed(1)}" fill="${part.color}"/>`);
        acc += v;
      }
      if (opts.marked?.[gi] === bi) out.push(`<text x="${(x0 + bi * bw + bw / 2).toFixed(1)}" y="${(py(acc) - 4).toFixed(1)}" text-anchor="middle" font-size="13">★</text>`);
    });
    out.push(`<text transform="translate(${(L + gi * gw + gw / 2).toFixed(1)} ${H - B + 10}) rotate(50)" font-size="10">${esc(g)}</text>`);
  });
  out.push(`<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="black"/>`, `<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="black"/>`);
  out.push(`<text transform="translate(18 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`);
  let lx = L + 10;
  for (const b of opts.bars) for (const part of b.parts) {
    out.push(`<rect x="${lx}" y="${T - 16}" width="10" height="10" fill="${part.color}"/>`, `<text x="${lx + 14}" y="${T - 7}">${esc(`${b.name} ${part.name}`)}</text>`);
    lx += 24 + 7 * `${b.name} ${part.name}`.length;
  }
  out.push(`<text x="${lx + 4}" y="${T - 7}">★ the cost model's choice</text>`, '</svg>');
  return out.join('\n');
}

/** PNG images side by side, each under a caption, in one SVG (images embedded as data URIs). */
export function imageGrid(title: string, panels: { caption: string; png: Uint8Array; width: number; height: number }[], columns = 1): string {
  const pad = 10, cap = 18;
  const cw = Math.max(...panels.map((p) => p.width)), ch = Math.max(...panels.map((p) => p.height)) + cap;
  const rows = Math.ceil(panels.length / columns);
  const W = pad + columns * (cw + pad), H = 34 + rows * (ch + pad);
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`, `<text x="${W / 2}" y="20" text-anchor="middle" font-size="15">${esc(title)}</text>`];
  panels.forEach((p, i) => {
    const x = pad + (i % columns) * (cw + pad), y = 34 + Math.floor(i / columns) * (ch + pad);
    out.push(`<text x="${x}" y="${y + 12}">${esc(p.caption)}</text>`,
      `<image x="${x}" y="${y + cap}" width="${p.width}" height="${p.height}" style="image-rendering:pixelated" href="data:image/png;base64,${Buffer.from(p.png).toString('base64')}"/>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

function fmt(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toPrecision(3)}k`;
  return `${+v.toPrecision(3)}`;
}

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
