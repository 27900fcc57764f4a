// Parses playlist snapshots with hls-parser in strict mode, where any
// deviation from RFC 8216 that it knows throws.
//
//   node parse.mjs FILE...
//
// Prints one JSON object per file on stdout, what hls-parser read:
// { file, mediaSequence, discontinuitySequence, targetDuration, uris,
// endlist }, so that tests/players.rs can compare it with its own reading.
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
    if (p.isMasterPlaylist) throw new Error('a multivariant playlist, not a media playlist');
  } catch (e) {
    console.error(`${file}: hls-parser (strict) rejects it: ${e.message}\n${text}`);
    process.exit(1);
  }
  const out = {
    file,
    mediaSequence: p.mediaSequenceBase ?? 0,
    discontinuitySequence: p.discontinuitySequenceBase ?? 0,
    targetDuration: p.targetDuration,
    uris: p.segments.map((s) => s.uri),
    endlist: p.endlist,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}
