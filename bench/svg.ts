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
