//! Store tests on real temporary directories.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use super::*;

const MIB: usize = 1 << 20;

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn temp_dir() -> tempfile::TempDir {
    match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => panic!("cannot create a temporary directory: {e}"),
    }
}

#[test]
fn writes_and_replaces_leaving_only_the_target() -> Result<(), StoreError> {
    let dir = temp_dir();
    write_atomic(dir.path(), "live.m3u8", b"first")?;
    write_atomic(dir.path(), "live.m3u8", b"second, longer")?;
    write_atomic_with(dir.path(), "seg.ts", b"synced", Durability::Synced)?;
    assert_eq!(
        fs::read(dir.path().join("live.m3u8")).ok(),
        Some(b"second, longer".to_vec())
    );
    assert_eq!(
        fs::read(dir.path().join("seg.ts")).ok(),
        Some(b"synced".to_vec())
    );
    assert_eq!(names(dir.path()), ["live.m3u8", "seg.ts"]);
    Ok(())
}

/// Readable by others as a plainly created file is (0666 less the umask),
/// not private as `tempfile`'s own files are: an origin running as another
/// user serves these.
#[cfg(unix)]
#[test]
fn written_files_get_the_permissions_of_a_plainly_created_file() -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir();
    write_atomic(dir.path(), "seg0.ts", b"x")?;
    let plain = dir.path().join("plain");
    let mode = |p: &Path| fs::metadata(p).map(|m| m.permissions().mode() & 0o777).ok();
    let _ = File::create(&plain);
    assert_eq!(mode(&dir.path().join("seg0.ts")), mode(&plain));
    Ok(())
}

#[test]
fn readers_never_see_a_partial_file() -> Result<(), StoreError> {
    const REWRITES: u8 = 100;
    let dir = temp_dir();
    let path = dir.path().join("big.ts");
    write_atomic(dir.path(), "big.ts", &vec![0; MIB])?;
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let (dir, done) = (dir.path().to_owned(), Arc::clone(&done));
        thread::spawn(move || {
            let result =
                (1..=REWRITES).try_for_each(|v| write_atomic(&dir, "big.ts", &vec![v; MIB]));
            done.store(true, Ordering::SeqCst);
            result
        })
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut reads = 0;
    while !done.load(Ordering::SeqCst) {
        let bytes = fs::read(&path).map_err(io_error(Operation::Write, &path))?;
        assert_eq!(bytes.len(), MIB, "read {reads}: a partial file");
        let first = bytes[0];
        assert!(
            bytes.iter().all(|&b| b == first),
            "read {reads}: two versions mixed"
        );
        seen.insert(first);
        reads += 1;
    }
    match writer.join() {
        Ok(result) => result?,
        Err(_) => panic!("the writer panicked"),
    }
    assert!(
        seen.len() >= 2,
        "the reader saw only {seen:?} in {reads} reads: no overlap tested"
    );
    assert_eq!(fs::read(&path).ok(), Some(vec![REWRITES; MIB]));
    assert_eq!(names(dir.path()), ["big.ts"], "temporary files left behind");
    Ok(())
}

#[test]
fn failed_rename_removes_the_temporary_file() {
    let dir = temp_dir();
    // A non-empty directory where the file should go: the rename fails
    // after the temporary file has been written.
    let blocker = dir.path().join("live.m3u8");
    let _ = fs::create_dir(&blocker).and_then(|()| fs::write(blocker.join("x"), b"x"));
    let error = write_atomic(dir.path(), "live.m3u8", b"#EXTM3U\n");
    match error {
        Err(StoreError::Io {
            operation: Operation::Rename,
            ref path,
            ..
        }) => assert_eq!(path, &blocker),
        other => panic!("expected a rename error, got {other:?}"),
    }
    assert_eq!(
        names(dir.path()),
        ["live.m3u8"],
        "temporary file left behind"
    );
    assert!(blocker.join("x").exists());
}

#[test]
fn missing_directory_is_reported_with_the_path() {
    let dir = temp_dir();
    let gone = dir.path().join("gone");
    let error = write_atomic(&gone, "live.m3u8", b"#EXTM3U\n");
    let Err(StoreError::Io {
        operation: Operation::CreateTemporary,
        path,
        error,
    }) = error
    else {
        panic!("expected a create error, got {error:?}");
    };
    assert!(path.starts_with(&gone), "{}", path.display());
    assert_eq!(error.kind(), io::ErrorKind::NotFound);
    let message = StoreError::Io {
        operation: Operation::CreateTemporary,
        path,
        error,
    }
    .to_string();
    assert!(
        message.starts_with(&format!(
            "cannot create temporary file {}/.live.m3u8.tmp.",
            gone.display()
        )),
        "{message}"
    );
    assert_eq!(names(dir.path()), Vec::<String>::new());
}

#[test]
fn names_that_are_not_one_component_are_refused() {
    let dir = temp_dir();
    for name in ["", ".", "..", "a/b", "/etc/passwd", "a/", "./a"] {
        let result = write_atomic(dir.path(), name, b"x");
        assert!(
            matches!(result, Err(StoreError::InvalidName { .. })),
            "{name:?}: {result:?}"
        );
    }
    assert_eq!(names(dir.path()), Vec::<String>::new());
}

#[test]
fn deletion_waits_for_the_grace_period() -> Result<(), StoreError> {
    let dir = temp_dir();
    let mut queue = DeletionQueue::new(10_000);
    for (name, removed_at) in [("b.ts", 2_000), ("a.ts", 1_000), ("c.ts", 1_000)] {
        write_atomic(dir.path(), name, b"x")?;
        queue.schedule(dir.path().join(name), removed_at);
    }
    let report = queue.delete_due(10_999);
    assert_eq!((report.deleted, report.missing, queue.len()), (0, 0, 3));
    assert_eq!(names(dir.path()), ["a.ts", "b.ts", "c.ts"]);
    let due = queue.due(11_000);
    assert_eq!(
        due,
        [dir.path().join("a.ts"), dir.path().join("c.ts")],
        "earliest first, then FIFO"
    );
    queue.schedule(dir.path().join("b.ts"), u64::MAX); // saturates, never due before the end of time
    let report = queue.delete_due(12_000);
    assert_eq!(
        (report.deleted, report.missing, report.failed.len()),
        (1, 0, 0)
    );
    assert_eq!(
        names(dir.path()),
        ["a.ts", "c.ts"],
        "due() hands paths over without deleting"
    );
    assert_eq!(queue.len(), 1);
    let report = queue.delete_due(u64::MAX);
    assert_eq!(
        (report.deleted, report.missing),
        (0, 1),
        "b.ts was already deleted"
    );
    assert!(queue.is_empty());
    Ok(())
}

#[test]
fn deletion_errors_name_the_path() {
    let dir = temp_dir();
    let directory = dir.path().join("not-a-file.ts");
    let _ = fs::create_dir(&directory);
    let mut queue = DeletionQueue::new(0);
    queue.schedule(&directory, 5);
    queue.schedule(dir.path().join("never-written.ts"), 5);
    let report = queue.delete_due(5);
    assert_eq!(
        (report.deleted, report.missing, report.failed.len()),
        (0, 1, 1)
    );
    assert_eq!(report.failed[0].path(), Some(directory.as_path()));
    assert!(report.failed[0].to_string().starts_with("cannot delete "));
}
