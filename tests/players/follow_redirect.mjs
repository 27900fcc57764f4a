// A page on the redirector's own HTTPS listener asks for a segment the way
// a player does (fetch, from script) and Chromium follows the redirect:
//
//   node follow_redirect.mjs PAGE_URL PATH
//
// PAGE_URL is an https:// page of the redirector (its /healthz); the test's
// certificate is self-signed, so certificate errors are ignored. The
// DevTools protocol tells what Chromium's network stack did: each request
// with the redirect answer that led to it (status, Location, protocol).
// The site the redirect names does not exist on this machine, so the last
// fetch fails: what matters is that Chromium was sent there and went.
// Prints one JSON object: { requests: [{ url, redirectedBy: { status,
// location, protocol } | null }], fetchError, pageErrors }.
import { chromium } from 'playwright-core';

const [pageUrl, path] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const browser = await chromium.launch({
  executablePath,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking'],
});
try {
  const page = await browser.newPage({ ignoreHTTPSErrors: true });
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  const requests = [];
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  cdp.on('Network.requestWillBeSent', (e) => {
    const r = e.redirectResponse;
    requests.push({
      url: e.request.url,
      redirectedBy: r ? { status: r.status, location: r.headers.Location ?? r.headers.location, protocol: r.protocol } : null,
    });
  });
  await page.goto(pageUrl);
  const fetchError = await page.evaluate(async (p) => {
    try {
      await fetch(p);
      return null;
    } catch (e) {
      return String(e);
    }
  }, path);
  // Let the last events arrive.
  await new Promise((r) => setTimeout(r, 500));
  process.stdout.write(JSON.stringify({ requests, fetchError, pageErrors }) + '\n');
} finally {
  await browser.close();
}
