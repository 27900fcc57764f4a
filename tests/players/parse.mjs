// Parses playlist snapshots with hls-parser in strict mode, where any
// deviation from RFC 8216 that it knows throws.
//
//   node parse.mjs FILE...
//
// Prints one JSON object per file on stdout, what hls-parser read:
// { file, mediaSequence, discontinuitySequence, targetDuration, uris,
// endlist, skipped, parts: [[uri, duration, independent]], hint }, so that
// tests/players.rs can compare it with its own reading. mediaSequence is
// that of the first segment listed (after EXT-X-SKIP's skipped ones); the
// parts of the segment in progress, which hls-parser reads as a segment
// with an empty URI, are in `parts`, not `uris`.
// A multivariant playlist prints { file, multivariant: true, variants:
// [[uri, bandwidth, averageBandwidth, codecs, "WxH"]], audio: per variant,
// the EXT-X-MEDIA TYPE=AUDIO renditions of its AUDIO group: [[groupId,
// name, uri, default, autoselect, channels]] } (tests/segment.rs).
// On the first rejected file: its name, the error and the text on stderr,
// exit status 1.
import { readFileSync } from 'node:fs';
import HLS from 'hls-parser';

HLS.setOptions({ strictMode: true, silent: true });
for (const file of process.argv.slice(2)) {
  const text = readFileSync(file, 'utf8');
  let p;
  try {
    p = HLS.parse(text);
  } catch (e) {
    console.error(`${file}: hls-parser (strict) rejects it: ${e.message}\n${text}`);
    process.exit(1);
  }
  if (p.isMasterPlaylist) {
    const variants = p.variants.map((v) => [
      v.uri, v.bandwidth, v.averageBandwidth ?? null, v.codecs ?? null,
      v.resolution ? `${v.resolution.width}x${v.resolution.height}` : null,
    ]);
    const audio = p.variants.map((v) => v.audio.map((r) => [
      r.groupId, r.name, r.uri ?? null, Boolean(r.isDefault), Boolean(r.autoselect),
      r.channels ?? null,
    ]));
    process.stdout.write(JSON.stringify({ file, multivariant: true, variants, audio }) + '\n');
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
  process.stdout.write(JSON.stringify(out) + '\n');
}
