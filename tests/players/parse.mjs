// Parses playlist snapshots with hls-parser in strict mode, where any
// deviation from RFC 8216 that it knows throws.
//
//   node parse.mjs [--times] FILE...
//
// Prints one JSON object per file on stdout, what hls-parser read:
// { file, mediaSequence, discontinuitySequence, targetDuration, uris,
// endlist, skipped, parts: [[uri, duration, independent]], hint }, and
// with --times durations, dates: each segment's EXTINF and PDT in ms, so that
// tests/players.rs can compare it with its own reading. mediaSequence is
// that of the first segment listed (after EXT-X-SKIP's skipped ones); the
// parts of the segment in progress, which hls-parser reads as a segment
// with an empty URI, are in `parts`, not `uris`.
// A multivariant playlist prints { file, multivariant: true, variants:
// [[uri, bandwidth, averageBandwidth, codecs, "WxH"]], audio: per variant,
// the EXT-X-MEDIA TYPE=AUDIO renditions of its AUDIO group: [[groupId,
// name, uri, default, autoselect, channels]], iframes: the
// EXT-X-I-FRAME-STREAM-INF streams, [[uri, bandwidth, averageBandwidth,
// codecs, "WxH"]] } (tests/segment.rs, tests/segment_iframes.rs).
// A media playlist with byte ranges (an I-frame playlist) adds
// iFramesOnly and ranges: [[uri, length, offset, mapUri, mapLength,
// mapOffset, duration, programDateTime ms]]. One with EXT-X-CUE-OUT /
// CUE-OUT-CONT / CUE-IN tags adds markers: per segment, [[type ("OUT",
// "IN", "RAW"), duration, tagName, value]] (tests/segment_scte35.rs).
// On the first rejected file: its name, the error and the text on stderr,
// exit status 1.
import { readFileSync } from 'node:fs';
import HLS from 'hls-parser';

HLS.setOptions({ strictMode: true, silent: true });
const args = process.argv.slice(2);
const times = args[0] === '--times';
for (const file of times ? args.slice(1) : args) {
  const text = readFileSync(file, 'utf8');
  let p;
  try {
    p = HLS.parse(text);
  } catch (e) {
    console.error(`${file}: hls-parser (strict) rejects it: ${e.message}\n${text}`);
    process.exit(1);
  }
  if (p.isMasterPlaylist) {
    const row = (v) => [
      v.uri, v.bandwidth, v.averageBandwidth ?? null, v.codecs ?? null,
      v.resolution ? `${v.resolution.width}x${v.resolution.height}` : null,
    ];
    const streams = p.variants.filter((v) => !v.isIFrameOnly);
    const variants = streams.map(row);
    const iframes = p.variants.filter((v) => v.isIFrameOnly).map(row);
    const audio = streams.map((v) => v.audio.map((r) => [
      r.groupId, r.name, r.uri ?? null, Boolean(r.isDefault), Boolean(r.autoselect),
      r.channels ?? null,
    ]));
    const out = { file, multivariant: true, variants, audio };
    if (iframes.length > 0) out.iframes = iframes;
    process.stdout.write(JSON.stringify(out) + '\n');
    continue;
  }
  const parts = p.segments.flatMap((s) => s.parts);
  const hint = parts.find((x) => x.hint);
  const out = {
    file,
    mediaSequence: (p.mediaSequenceBase ?? 0) + (p.skip ?? 0),
    discontinuitySequence: p.discontinuitySequenceBase ?? 0,
    targetDuration: p.targetDuration,
    uris: p.segments.filter((s) => s.uri !== '').map((s) => s.uri),
    endlist: p.endlist,
    skipped: p.skip ?? 0,
    parts: parts.filter((x) => !x.hint).map((x) => [x.uri, x.duration, Boolean(x.independent)]),
    hint: hint ? hint.uri : null,
  };
  if (times) {
    const listed = p.segments.filter((s) => s.uri !== '');
    out.durations = listed.map((s) => s.duration);
    out.dates = listed.map((s) => (s.programDateTime ? s.programDateTime.getTime() : null));
  }
  if (p.segments.some((s) => s.markers.length > 0)) {
    out.markers = p.segments.filter((s) => s.uri !== '').map((s) => s.markers.map((m) => [
      m.type, m.duration ?? null, m.tagName ?? null, m.value ?? null,
    ]));
  }
  if (p.segments.some((s) => s.byterange)) {
    out.iFramesOnly = Boolean(p.isIFrame);
    out.ranges = p.segments.map((s) => [
      s.uri, s.byterange.length, s.byterange.offset ?? null,
      s.map ? s.map.uri : null, s.map?.byterange ? s.map.byterange.length : null,
      s.map?.byterange ? s.map.byterange.offset ?? null : null,
      s.duration, s.programDateTime ? s.programDateTime.getTime() : null,
    ]);
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}
