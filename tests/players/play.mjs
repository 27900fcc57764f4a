// Plays a live HLS stream with hls.js in Debian's headless Chromium,
// driven by playwright-core (no browser download: /usr/bin/chromium).
//
//   node play.mjs PAGE_URL SECONDS
//
// Waits for playback to start (currentTime > 0, at most 30 s), then samples
// the page once a second for SECONDS and prints one JSON object on stdout:
// { hls, browser, startup, samples: [{wall, currentTime, latency,
// targetLatency, dateLatency, frames, dropped, paused, readyState,
// audioTracks, audioBytes}], errors, pageErrors }. audioTracks is
// hls.audioTracks.length (EXT-X-MEDIA TYPE=AUDIO of the level played),
// audioBytes Chromium's webkitAudioDecodedByteCount (audio decoded so far).
// tests/players.rs asserts on it; this script only reports.
//
// With PLAY_EVENTS=FILE in the environment it also writes FILE: the samples
// and the page's timeline of hls.js events (playlist and part loads with
// their request times, buffering, errors, media waiting/playing/rate
// changes), wall-clock stamped to line up with a server log. That is how
// the low-latency test's stalls were taken apart (players/ll.rs).
import { chromium } from 'playwright-core';

const [url, seconds] = process.argv.slice(2);
if (!url || !(Number(seconds) > 0)) {
  console.error('usage: node play.mjs PAGE_URL SECONDS');
  process.exit(64);
}
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function sample() {
  const video = document.getElementById('video');
  const q = video.getVideoPlaybackQuality();
  const date = window.hls.playingDate;
  const b = video.buffered;
  return {
    wall: performance.now() / 1000,
    epoch: (performance.timeOrigin + performance.now()) / 1000,
    ahead: b.length ? b.end(b.length - 1) - video.currentTime : 0,
    rate: video.playbackRate,
    currentTime: video.currentTime,
    latency: window.hls.latency,
    targetLatency: window.hls.targetLatency,
    dateLatency: date ? (Date.now() - date.getTime()) / 1000 : null,
    frames: q.totalVideoFrames,
    dropped: q.droppedVideoFrames,
    paused: video.paused,
    readyState: video.readyState,
    audioTracks: window.hls.audioTracks.length,
    audioBytes: video.webkitAudioDecodedByteCount ?? null,
  };
}

const browser = await chromium.launch({
  executablePath,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--disable-background-networking',
    '--disable-component-update',
    '--autoplay-policy=no-user-gesture-required',
  ],
});
try {
  // PLAY_IGNORE_HTTPS_ERRORS=1: the stream comes over HTTPS with the
  // test's own self-signed certificate.
  const page = await browser.newPage({ ignoreHTTPSErrors: process.env.PLAY_IGNORE_HTTPS_ERRORS === '1' });
  // How each origin's answers came, as Chromium's network stack saw them
  // (the DevTools protocol's Response.protocol: "h2", "http/1.1"),
  // counted: "https://127.0.0.1:PORT h2": 120.
  const protocols = {};
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  cdp.on('Network.responseReceived', (e) => {
    const key = `${new URL(e.response.url).origin} ${e.response.protocol || '?'}`;
    protocols[key] = (protocols[key] || 0) + 1;
  });
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  const opened = Date.now();
  await page.goto(url);
  let startup = null;
  while (Date.now() - opened < 30_000) {
    if ((await page.evaluate(sample)).currentTime > 0) {
      startup = (Date.now() - opened) / 1000;
      break;
    }
    await sleep(100);
  }
  const samples = [];
  if (startup !== null) {
    const end = Date.now() + Number(seconds) * 1000;
    while (Date.now() <= end) {
      samples.push(await page.evaluate(sample));
      await sleep(1000);
    }
  }
  if (process.env.PLAY_EVENTS) {
    const { writeFileSync } = await import('node:fs');
    const events = await page.evaluate(() => window.playerEvents);
    writeFileSync(process.env.PLAY_EVENTS, JSON.stringify({ samples, events }));
  }
  const errors = await page.evaluate(() => window.playerErrors);
  const hls = await page.evaluate(() => Hls.version);
  const result = { hls, browser: browser.version(), startup, samples, errors, pageErrors, protocols };
  process.stdout.write(JSON.stringify(result) + '\n');
} finally {
  await browser.close();
}
