// Plays a VOD HLS stream (ENDLIST) with hls.js in Debian's headless
// Chromium from its start to its end, driven by playwright-core, as
// play.mjs does for live streams.
//
//   node play_to_end.mjs PAGE_URL TIMEOUT_SECONDS
//
// Polls the page every 100 ms until the video element says `ended` or the
// timeout passes, then prints one JSON object on stdout: { hls, browser,
// startup, wall, ended, currentTime, duration, frames, dropped, corrupted,
// buffered, errors, pageErrors }: frames, dropped and corrupted are
// video.getVideoPlaybackQuality()'s totalVideoFrames, droppedVideoFrames
// and corruptedVideoFrames at the end; buffered the [start, end] ranges of
// video.buffered; wall the seconds from the first advance of currentTime
// to the end. tests/players.rs asserts on it; this script only reports.
import { chromium } from 'playwright-core';

const [url, seconds] = process.argv.slice(2);
if (!url || !(Number(seconds) > 0)) {
  console.error('usage: node play_to_end.mjs PAGE_URL TIMEOUT_SECONDS');
  process.exit(64);
}
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function look() {
  const video = document.getElementById('video');
  const q = video.getVideoPlaybackQuality();
  const b = video.buffered;
  const buffered = [];
  for (let i = 0; i < b.length; i++) buffered.push([b.start(i), b.end(i)]);
  return {
    ended: video.ended,
    currentTime: video.currentTime,
    duration: video.duration,
    frames: q.totalVideoFrames,
    dropped: q.droppedVideoFrames,
    corrupted: q.corruptedVideoFrames,
    buffered,
  };
}

const browser = await chromium.launch({
  executablePath,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--autoplay-policy=no-user-gesture-required',
  ],
});
try {
  const page = await browser.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  const opened = Date.now();
  const deadline = opened + Number(seconds) * 1000;
  await page.goto(url);
  let startup = null;
  let last = await page.evaluate(look);
  while (Date.now() < deadline && !last.ended) {
    await sleep(100);
    last = await page.evaluate(look);
    if (startup === null && last.currentTime > 0) startup = (Date.now() - opened) / 1000;
  }
  const wall = startup === null ? null : (Date.now() - opened) / 1000 - startup;
  const errors = await page.evaluate(() => window.playerErrors);
  const hls = await page.evaluate(() => Hls.version);
  const result = { hls, browser: browser.version(), startup, wall, ...last, errors, pageErrors };
  process.stdout.write(JSON.stringify(result) + '\n');
} finally {
  await browser.close();
}
