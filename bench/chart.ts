import { chromium } from 'playwright-core';

export interface Series {
  name: string;
  color: string;
  dashed?: boolean;
  points: Array<{ x: number; y: number }>;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceStep(range: number, ticks: number): number {
  const raw = range / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = [1, 2, 2.5, 5, 10].find((m) => m * power >= raw) ?? 10;
  return unit * power;
}

/** A line chart as SVG, no dependencies: x and y axes from 0, a legend, one polyline per series. */
export function lineChartSvg(opts: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
}): string {
  const width = 900;
  const height = 560;
  const m = { left: 80, right: 200, top: 60, bottom: 70 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const all = opts.series.flatMap((s) => s.points);
  const xMax = Math.max(1, ...all.map((p) => p.x));
  const yStep = niceStep(Math.max(1, ...all.map((p) => p.y)), 6);
  const yMax = Math.ceil(Math.max(1, ...all.map((p) => p.y)) / yStep) * yStep;
  const xStep = niceStep(xMax, 10);
  const xMaxNice = Math.ceil(xMax / xStep) * xStep;
  const sx = (x: number) => m.left + (x / xMaxNice) * plotW;
  const sy = (y: number) => m.top + plotH - (y / yMax) * plotH;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${m.left}" y="32" font-size="18" font-weight="bold">${esc(opts.title)}</text>`,
  );
  for (let y = 0; y <= yMax + 1e-9; y += yStep) {
    parts.push(
      `<line x1="${m.left}" x2="${m.left + plotW}" y1="${sy(y)}" y2="${sy(y)}" stroke="#e5e5e5"/>`,
      `<text x="${m.left - 8}" y="${sy(y) + 4}" text-anchor="end">${Number(y.toFixed(2))}</text>`,
    );
  }
  for (let x = 0; x <= xMaxNice + 1e-9; x += xStep) {
    parts.push(
      `<line x1="${sx(x)}" x2="${sx(x)}" y1="${m.top + plotH}" y2="${m.top + plotH + 5}" stroke="#333"/>`,
      `<text x="${sx(x)}" y="${m.top + plotH + 20}" text-anchor="middle">${Number(x.toFixed(2))}</text>`,
    );
  }
  parts.push(
    `<line x1="${m.left}" x2="${m.left + plotW}" y1="${m.top + plotH}" y2="${m.top + plotH}" stroke="#333"/>`,
    `<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + plotH}" stroke="#333"/>`,
    `<text x="${m.left + plotW / 2}" y="${height - 20}" text-anchor="middle">${esc(opts.xLabel)}</text>`,
    `<text transform="translate(22 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`,
  );
  opts.series.forEach((s, i) => {
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    if (pts.length > 1) {
      parts.push(
        `<polyline fill="none" stroke="${s.color}" stroke-width="2.5"${dash} points="${pts.map((p) => `${sx(p.x)},${sy(p.y)}`).join(' ')}"/>`,
      );
    }
    for (const p of pts) parts.push(`<circle cx="${sx(p.x)}" cy="${sy(p.y)}" r="4" fill="${s.color}"/>`);
    const ly = m.top + 10 + i * 26;
    const lx = m.left + plotW + 20;
    parts.push(
      `<line x1="${lx}" x2="${lx + 28}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2.5"${dash}/>`,
      `<text x="${lx + 36}" y="${ly + 4}">${esc(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Renders an SVG to PNG with the headless Chromium the project already uses. */
export async function svgToPng(svg: string, chromiumPath: string): Promise<Buffer> {
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage();
    await page.setContent(`<!doctype html><html><body style="margin:0">${svg}</body></html>`);
    return await page.locator('svg').screenshot({ type: 'png' });
  } finally {
    await browser.close();
  }
}
