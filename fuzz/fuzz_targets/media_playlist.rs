//! The media playlist parser (what `routecast segment` resumes from) on
//! arbitrary text: typed errors, no panic; whatever parses renders to text
//! that parses to the same segments (I-frame playlists: the same byte
//! ranges and maps).
#![no_main]
use libfuzzer_sys::fuzz_target;
use routecast_hls::playlist::MediaPlaylist;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(p) = MediaPlaylist::parse(text) else {
        return;
    };
    let again = MediaPlaylist::parse(&p.render()).expect("a rendered playlist parses");
    assert_eq!(again.media_sequence(), p.media_sequence());
    assert_eq!(again.discontinuity_sequence(), p.discontinuity_sequence());
    assert_eq!(again.segments().count(), p.segments().count());
    for (a, b) in again.segments().zip(p.segments()) {
        assert_eq!(a.uri, b.uri);
        assert_eq!(a.duration.rounded_millis(), b.duration.rounded_millis());
        assert_eq!(a.discontinuity_before, b.discontinuity_before);
        assert_eq!(a.byte_range, b.byte_range);
        assert_eq!(a.map, b.map);
        assert_eq!(a.key, b.key);
        assert_eq!(a.cues, b.cues);
    }
    assert_eq!(again.is_iframes_only(), p.is_iframes_only());
});
