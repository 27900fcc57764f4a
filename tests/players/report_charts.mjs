// Opens routecast's report.html from disk in Debian's headless Chromium
// (playwright-core, /usr/bin/chromium) and reports what a reader meets:
//
//   node report_charts.mjs FILE_URL [HOVER_TIME]
//
// Prints one JSON object on stdout: { charts: [{ id, title, width, height,
// inked, legend: [labels], colours: [pixels of each series' colour] }],
// hover: { id, legend: [{label, value, off}] } (the mouse over the first
// chart at HOVER_TIME, Unix seconds, else 40 % across),
// toggle: { id, label, before, after, off }, zoom: { id, before, zoomed,
// reset }, requests: [urls other than the page], pageErrors }. inked counts
// the canvas pixels that are not background; toggle counts the pixels of
// the clicked series' colour before and after the click. tests/report_browser.rs
// asserts on it (against timeseries.csv); this script only reports.
import { chromium } from 'playwright-core';

const [url, hoverTime] = process.argv.slice(2);
if (!url) {
  console.error('usage: node report_charts.mjs FILE_URL');
  process.exit(64);
}
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const browser = await chromium.launch({
  executablePath,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking'],
});
const page = await browser.newPage({ viewport: { width: 1200, height: 900 }, deviceScaleFactor: 1 });
const requests = [];
const pageErrors = [];
page.on('request', (r) => { if (r.url() !== url) requests.push(r.url()); });
page.on('pageerror', (e) => pageErrors.push(String(e)));
page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
await page.goto(url, { waitUntil: 'load' });
await page.waitForFunction(() => window.routecastCharts && window.routecastCharts.length > 0, null, { timeout: 20000 });

// Pixels of the chart's canvas that differ from white/transparent, or (with
// rgb) that are exactly that colour.
const countPixels = (id, rgb) => page.evaluate(([id, rgb]) => {
  const u = window.routecastCharts.find((c) => c.root.dataset.chart === id);
  const c = u.ctx.canvas;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (rgb) { if (d[i] === rgb[0] && d[i + 1] === rgb[1] && d[i + 2] === rgb[2] && d[i + 3] === 255) n++; }
    else if (d[i + 3] !== 0 && !(d[i] === 255 && d[i + 1] === 255 && d[i + 2] === 255)) n++;
  }
  return n;
}, [id, rgb]);

const charts = [];
for (const id of await page.evaluate(() => window.routecastCharts.map((c) => c.root.dataset.chart))) {
  const info = await page.evaluate((id) => {
    const u = window.routecastCharts.find((c) => c.root.dataset.chart === id);
    return { id, title: u.root.querySelector('.u-title')?.textContent ?? '',
      width: u.ctx.canvas.width, height: u.ctx.canvas.height,
      legend: [...u.root.querySelectorAll('.u-legend .u-series .u-label')].map((e) => e.textContent) };
  }, id);
  info.inked = await countPixels(id, null);
  info.colours = [];
  for (const rgb of await page.evaluate((id) => {
    const u = window.routecastCharts.find((c) => c.root.dataset.chart === id);
    return u.series.slice(1).map((s) => { const h = s.stroke(); return [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)); });
  }, id)) info.colours.push(await countPixels(id, rgb));
  charts.push(info);
}

// Hover: the mouse over the first chart's plot at HOVER_TIME (or 40 % across).
const legendOf = (id) => page.evaluate((id) => {
  const u = window.routecastCharts.find((c) => c.root.dataset.chart === id);
  return [...u.root.querySelectorAll('.u-legend .u-series')].map((r) => ({
    label: r.querySelector('.u-label')?.textContent ?? '', value: r.querySelector('.u-value')?.textContent ?? '',
    off: r.classList.contains('u-off') }));
}, id);
const overBox = async (id) => page.locator(`[data-chart="${id}"] .u-over`).boundingBox();
const first = charts[0].id;
let box = await overBox(first);
const hoverX = hoverTime ? await page.evaluate(([id, t]) => {
  const u = window.routecastCharts.find((c) => c.root.dataset.chart === id);
  return u.valToPos(t, 'x');
}, [first, Number(hoverTime)]) : box.width * 0.4;
await page.mouse.move(box.x + hoverX, box.y + box.height * 0.5);
await page.waitForTimeout(200);
const hover = { id: first, legend: await legendOf(first) };

// Toggle: click the first series' legend entry; count its colour's pixels.
await page.mouse.move(0, 0);
const colour = await page.evaluate((id) => {
  const u = window.routecastCharts.find((c) => c.root.dataset.chart === id);
  const s = u.series[1].stroke();
  return [1, 3, 5].map((i) => parseInt(s.slice(i, i + 2), 16));
}, first);
const before = await countPixels(first, colour);
const entry = page.locator(`[data-chart="${first}"] .u-legend .u-series`).nth(1);
const label = await entry.locator('.u-label').textContent();
await entry.click();
await page.waitForTimeout(200);
const after = await countPixels(first, colour);
const off = (await legendOf(first))[1].off;
const toggle = { id: first, label, before, after, off };

// Zoom: drag from 30 % to 60 % across the plot, then "Reset zoom".
const scale = () => page.evaluate((id) => {
  const u = window.routecastCharts.find((c) => c.root.dataset.chart === id);
  return [u.scales.x.min, u.scales.x.max];
}, first);
const zoomBefore = await scale();
box = await overBox(first);
await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.5);
await page.mouse.down();
await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.5, { steps: 8 });
await page.mouse.up();
await page.waitForTimeout(200);
const zoomed = await scale();
await page.locator(`[data-spec="${first}"] button.reset`).click();
await page.waitForTimeout(200);
const zoom = { id: first, before: zoomBefore, zoomed, reset: await scale() };

await browser.close();
console.log(JSON.stringify({ charts, hover, toggle, zoom, requests, pageErrors }));
