use super::*;
use crate::testing::{platform, two_sites};

/// The files in `dir`, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn overrides_are_saved_and_read_back_and_only_overrides() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = StateFile::new(dir.path().join("routecast.toml.state"));
    assert_eq!(file.read().expect("no file yet"), vec![]);
    let platform = platform(&two_sites(""));
    let health = Health::new(&platform);
    health.set_state(SiteId(1), Some(SiteState::Draining));
    file.save(&platform, &health).expect("saved");
    let text = std::fs::read_to_string(file.path()).expect("written");
    assert_eq!(
        text,
        "{\n  \"overrides\": {\n    \"b\": \"draining\"\n  }\n}\n"
    );
    assert_eq!(
        file.read().expect("readable"),
        vec![("b".to_string(), SiteState::Draining)]
    );
    let fresh = Health::new(&platform);
    assert_eq!(file.restore(&platform, &fresh), 1);
    assert_eq!(fresh.override_of(SiteId(1)), Some(SiteState::Draining));
    assert_eq!(fresh.override_of(SiteId(0)), None);
    assert_eq!(
        files(dir.path()),
        ["routecast.toml.state"],
        "no temporary file left"
    );
}

#[test]
fn the_default_file_is_beside_the_configuration() {
    assert_eq!(
        StateFile::beside(Path::new("/etc/routecast/routecast.toml")),
        Path::new("/etc/routecast/routecast.toml.state")
    );
}

#[test]
fn a_bad_file_is_refused_with_its_name_and_what_is_wrong() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state");
    let file = StateFile::new(path.clone());
    for (text, reason) in [
        ("{\"overrides\":{\"a\":\"draining\"", "EOF while parsing an object at line 1 column 28"),
        ("{\"overrides\":{\"a\":\"sleeping\"}}", "unknown variant `sleeping`, expected one of `active`, `draining`, `disabled` at line 1 column 28"),
        ("{\"drains\":[]}", "unknown field `drains`, expected `overrides` at line 1 column 9"),
    ] {
        std::fs::write(&path, text).expect("write");
        let e = file.read().expect_err(text);
        assert!(matches!(e, StateFileError::Malformed { .. }));
        assert_eq!(
            e.to_string(),
            format!("{}: not a routecast state file ({reason})", path.display())
        );
        let platform = platform(&two_sites(""));
        let health = Health::new(&platform);
        assert_eq!(file.restore(&platform, &health), 0, "starts without overrides");
    }
    let unwritable = StateFile::new(dir.path().join("missing-dir/state"));
    let platform = platform(&two_sites(""));
    let e = unwritable
        .save(&platform, &Health::new(&platform))
        .expect_err("no such directory");
    assert!(e.to_string().starts_with(&format!(
        "{}: cannot write the state file: ",
        unwritable.path().display()
    )));
}

#[test]
fn a_write_that_fails_midway_leaves_the_old_file_whole() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state");
    std::fs::write(&path, "old, whole\n").expect("write");
    // Half the new contents written, then the writer dies (as a `kill -9`
    // between write and rename would leave it): the old file is intact.
    let failed = write_atomically(&path, |f| {
        f.write_all(b"new, ha")?;
        Err(io::Error::other("killed"))
    });
    assert_eq!(failed.expect_err("failed").to_string(), "killed");
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        "old, whole\n"
    );
    assert_eq!(files(dir.path()), ["state"], "the temporary file is gone");
    write_atomically(&path, |f| f.write_all(b"new, whole\n")).expect("written");
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        "new, whole\n"
    );
}

#[test]
fn a_reader_never_sees_part_of_a_file_while_it_is_rewritten() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state");
    let big = |c: char| format!("{}\n", c.to_string().repeat(64 * 1024));
    std::fs::write(&path, big('a')).expect("write");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (path, stop) = (path.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let text = std::fs::read_to_string(&path).expect("always there");
                assert!(
                    text == big('a') || text == big('b'),
                    "a partial file: {} bytes",
                    text.len()
                );
                reads += 1;
            }
            reads
        })
    };
    for i in 0..200 {
        let c = if i % 2 == 0 { 'b' } else { 'a' };
        write_atomically(&path, |f| {
            for chunk in big(c).as_bytes().chunks(4096) {
                f.write_all(chunk)?;
            }
            Ok(())
        })
        .expect("written");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(reader.join().expect("reader") > 0);
}
