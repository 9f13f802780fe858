// Small hand-built SVG charts for the self-contained HTML report (no scripts, no CDN).

export interface Series {
  name: string;
  color: string;
  points: ReadonlyArray<readonly [x: number, y: number]>;
}

const WIDTH = 760;
const HEIGHT = 260;
const PAD = { left: 60, right: 20, top: 20, bottom: 40 };

export function lineChart(title: string, xLabel: string, yLabel: string, series: readonly Series[]): string {
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return emptyChart(title);
  const xMax = Math.max(...all.map(([x]) => x), 1);
  const yMax = niceCeiling(Math.max(...all.map(([, y]) => y), 0));
  const sx = (x: number) => PAD.left + (x / xMax) * (WIDTH - PAD.left - PAD.right);
  const sy = (y: number) => HEIGHT - PAD.bottom - (y / yMax) * (HEIGHT - PAD.top - PAD.bottom);
  const lines = series
    .filter((s) => s.points.length > 0)
    .map((s) => {
      const d = s.points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join('');
      return `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"><title>${escapeHtml(s.name)}</title></path>`;
    })
    .join('');
  return frame(title, axes(xMax, yMax, xLabel, yLabel, sx, sy) + lines, legend(series));
}

export function barChart(
  title: string,
  xLabel: string,
  yLabel: string,
  bars: ReadonlyArray<{ label: string; value: number }>,
  color = '#4a7bd0',
): string {
  if (bars.length === 0) return emptyChart(title);
  const yMax = niceCeiling(Math.max(...bars.map((b) => b.value), 0));
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const barWidth = plotWidth / bars.length;
  const sy = (y: number) => HEIGHT - PAD.bottom - (y / yMax) * (HEIGHT - PAD.top - PAD.bottom);
  const rects = bars
    .map((b, i) => {
      const x = PAD.left + i * barWidth;
      const y = sy(b.value);
      return `<rect x="${(x + 1).toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(1, barWidth - 2).toFixed(1)}" height="${(HEIGHT - PAD.bottom - y).toFixed(1)}" fill="${color}"><title>${escapeHtml(b.label)}: ${b.value}</title></rect>`;
    })
    .join('');
  const every = Math.max(1, Math.ceil(bars.length / 8));
  const labels = bars
    .map((b, i) =>
      i % every === 0
        ? `<text x="${(PAD.left + (i + 0.5) * barWidth).toFixed(1)}" y="${HEIGHT - PAD.bottom + 14}" text-anchor="middle">${escapeHtml(b.label)}</text>`
        : '',
    )
    .join('');
  const yAxis = yTicks(yMax, sy);
  return frame(title, `${yAxis}${rects}${labels}${axisLabels(xLabel, yLabel)}`, '');
}

function axes(
  xMax: number,
  yMax: number,
  xLabel: string,
  yLabel: string,
  sx: (x: number) => number,
  sy: (y: number) => number,
): string {
  const xTicks = Array.from({ length: 6 }, (_, i) => (xMax * i) / 5)
    .map(
      (x) =>
        `<text x="${sx(x).toFixed(1)}" y="${HEIGHT - PAD.bottom + 14}" text-anchor="middle">${formatTick(x)}</text>`,
    )
    .join('');
  return `${yTicks(yMax, sy)}${xTicks}${axisLabels(xLabel, yLabel)}`;
}

function yTicks(yMax: number, sy: (y: number) => number): string {
  return Array.from({ length: 5 }, (_, i) => (yMax * i) / 4)
    .map(
      (y) =>
        `<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${sy(y).toFixed(1)}" y2="${sy(y).toFixed(1)}" stroke="#ddd"/>` +
        `<text x="${PAD.left - 6}" y="${(sy(y) + 4).toFixed(1)}" text-anchor="end">${formatTick(y)}</text>`,
    )
    .join('');
}

function axisLabels(xLabel: string, yLabel: string): string {
  return (
    `<text x="${(PAD.left + WIDTH - PAD.right) / 2}" y="${HEIGHT - 6}" text-anchor="middle">${escapeHtml(xLabel)}</text>` +
    `<text x="14" y="${(PAD.top + HEIGHT - PAD.bottom) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(PAD.top + HEIGHT - PAD.bottom) / 2})">${escapeHtml(yLabel)}</text>`
  );
}

function legend(series: readonly Series[]): string {
  return `<div class="legend">${series.map((s) => `<span><i style="background:${s.color}"></i>${escapeHtml(s.name)}</span>`).join('')}</div>`;
}

function frame(title: string, body: string, after: string): string {
  return `<figure><figcaption>${escapeHtml(title)}</figcaption><svg viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" font-size="11" font-family="sans-serif">${body}</svg>${after}</figure>`;
}

function emptyChart(title: string): string {
  return `<figure><figcaption>${escapeHtml(title)}</figcaption><p>No data.</p></figure>`;
}

/** 1, 2 or 5 times a power of ten, at least `value`. */
export function niceCeiling(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function formatTick(value: number): string {
  if (value >= 1000) return `${Math.round(value / 100) / 10}k`;
  return String(Math.round(value * 100) / 100);
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
