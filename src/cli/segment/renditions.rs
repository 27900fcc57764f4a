//! Several renditions: their names, their backups, the multivariant
//! playlist listing them.

use routecast_hls::playlist::{BitsPerSecond, MultivariantPlaylist, Variant};
use routecast_hls::segmenter::{self, Rendition};
use routecast_hls::store;

use crate::cli::Failure;

/// Whether `n` can name a rendition (and its directory): ASCII letters,
/// digits, `-` and `_`.
pub(super) fn is_name(n: &str) -> bool {
    !n.is_empty()
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `NAME=INPUT` or `INPUT` (named r0, r1, … when there are several).
pub(super) fn renditions(inputs: &[String]) -> Result<Vec<(String, String)>, Failure> {
    let many = inputs.len() > 1;
    let mut out: Vec<(String, String)> = Vec::new();
    for (i, arg) in inputs.iter().enumerate() {
        let (name, input) = match arg.split_once('=') {
            Some((n, rest)) if is_name(n) => (n.to_string(), rest.to_string()),
            _ => (format!("r{i}"), arg.clone()),
        };
        if many && out.iter().any(|(n, _)| *n == name) {
            return Err(Failure::Usage(format!(
                "rendition name {name:?} given twice"
            )));
        }
        out.push((name, input));
    }
    Ok(out)
}

/// Each rendition's backup input, in the order of `inputs`. One input:
/// `--backup INPUT` once (a `NAME=` prefix naming that input is allowed).
/// Several: `--backup NAME=INPUT` at most once per rendition.
pub(super) fn backups(
    given: &[String],
    inputs: &[(String, String)],
) -> Result<Vec<Option<String>>, Failure> {
    let mut out = vec![None; inputs.len()];
    if let [(name, _)] = inputs {
        match given {
            [] => {}
            [one] => {
                let input = one
                    .strip_prefix(name.as_str())
                    .and_then(|rest| rest.strip_prefix('='))
                    .unwrap_or(one);
                out[0] = Some(input.to_string());
            }
            _ => {
                return Err(Failure::Usage(
                    "--backup is given more than once for one input".into(),
                ))
            }
        }
        return Ok(out);
    }
    let names = inputs
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    for arg in given {
        let Some((name, input)) = arg.split_once('=').filter(|(n, _)| is_name(n)) else {
            return Err(Failure::Usage(format!(
                "--backup {arg}: with several renditions give --backup NAME=INPUT (renditions: {names})"
            )));
        };
        let Some(i) = inputs.iter().position(|(n, _)| n == name) else {
            return Err(Failure::Usage(format!(
                "--backup {arg}: {name:?} is not a rendition (renditions: {names})"
            )));
        };
        if out[i].is_some() {
            return Err(Failure::Usage(format!(
                "--backup {arg}: rendition {name:?} has a backup already"
            )));
        }
        out[i] = Some(input.to_string());
    }
    Ok(out)
}

/// Writes DIR/master.m3u8 once every rendition has been measured.
pub(super) fn write_master(
    dir: &std::path::Path,
    inputs: &[(String, String)],
    m: &[Option<Rendition>],
) {
    let Some(all) = m
        .iter()
        .map(Option::as_ref)
        .collect::<Option<Vec<&Rendition>>>()
    else {
        return;
    };
    let variants = inputs
        .iter()
        .zip(all)
        .map(|((name, _), r)| Variant {
            uri: format!("{name}/{}", segmenter::LIVE_PLAYLIST),
            bandwidth: BitsPerSecond(r.bandwidth),
            average_bandwidth: Some(BitsPerSecond(r.average_bandwidth)),
            codecs: r.codecs.clone(),
            resolution: r.resolution,
            frame_rate: None,
        })
        .collect();
    let written = MultivariantPlaylist::new(variants)
        .map_err(|e| e.to_string())
        .and_then(|p| {
            store::write_atomic(dir, MASTER_PLAYLIST, p.render().as_bytes())
                .map_err(|e| e.to_string())
        });
    if let Err(e) = written {
        eprintln!(
            "routecast segment: {}: {e}",
            dir.join(MASTER_PLAYLIST).display()
        );
    }
}

/// The multivariant playlist's file name (with several renditions).
pub(super) const MASTER_PLAYLIST: &str = "master.m3u8";

#[cfg(test)]
mod tests {
    use super::*;

    fn named(names: &[&str]) -> Vec<(String, String)> {
        names
            .iter()
            .map(|n| (n.to_string(), format!("{n}.ts")))
            .collect()
    }

    fn given(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.to_string()).collect()
    }

    fn usage(r: Result<Vec<Option<String>>, Failure>) -> String {
        match r {
            Err(Failure::Usage(m)) => m,
            other => panic!("not a usage error: {:?}", other.map_err(|_| ())),
        }
    }

    #[test]
    fn one_input_keeps_backup_input() {
        let one = named(&["hi"]);
        let b = |args: &[&str]| backups(&given(args), &one).ok();
        assert_eq!(b(&[]), Some(vec![None]));
        assert_eq!(b(&["b.ts"]), Some(vec![Some("b.ts".into())]));
        assert_eq!(b(&["hi=b.ts"]), Some(vec![Some("b.ts".into())]));
        // Another prefix is part of the input, as before.
        assert_eq!(b(&["x=b.ts"]), Some(vec![Some("x=b.ts".into())]));
        let twice = usage(backups(&given(&["a.ts", "b.ts"]), &one));
        assert!(twice.contains("more than once"), "{twice}");
    }

    #[test]
    fn several_renditions_take_one_backup_each_by_name() {
        let two = named(&["hi", "lo"]);
        let b = backups(&given(&["lo=http://b/lo.ts"]), &two).ok();
        assert_eq!(b, Some(vec![None, Some("http://b/lo.ts".into())]));
        for (args, expected) in [
            (
                &["x=b.ts"][..],
                "\"x\" is not a rendition (renditions: hi, lo)",
            ),
            (
                &["hi=a.ts", "hi=b.ts"],
                "rendition \"hi\" has a backup already",
            ),
            (&["b.ts"], "give --backup NAME=INPUT"),
            (&["=b.ts"], "give --backup NAME=INPUT"),
        ] {
            let m = usage(backups(&given(args), &two));
            assert!(m.contains(expected), "{args:?}: {m}");
            assert!(!m.contains('\n'), "one line: {m}");
        }
    }
}
