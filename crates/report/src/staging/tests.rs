use super::*;

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("readable")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_directory_of_other_files_is_refused_not_replaced() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("home");
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::write(dir.join("notes.txt"), "mine").expect("write");
    let e = OutputDir::prepare(&dir, &["a"]).expect_err("refused");
    assert!(matches!(e, WriteError::NotReportDir { .. }), "{e}");
    assert_eq!(listing(&dir), ["notes.txt"]);
    assert_eq!(listing(tmp.path()), ["home"], "no staging directory made");
}

#[test]
fn an_output_dropped_unwritten_leaves_the_old_report_and_no_staging() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("out");
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::write(dir.join("summary.json"), "old").expect("write");
    let out = OutputDir::prepare(&dir, &["a"]).expect("a report directory");
    let staged = listing(tmp.path());
    assert_eq!(staged.len(), 2, "{staged:?}");
    assert!(staged[0].starts_with(".out.tmp-"), "{staged:?}");
    drop(out); // the replay failed
    assert_eq!(listing(tmp.path()), ["out"]);
    assert_eq!(
        std::fs::read(dir.join("summary.json")).expect("kept"),
        b"old"
    );
}

#[test]
fn a_file_in_the_way_of_the_output_is_said_before_anything_is_written() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = tmp.path().join("f");
    std::fs::write(&file, "").expect("write");
    let e = OutputDir::prepare(&file.join("out"), &["a"]).expect_err("cannot create");
    assert!(
        e.to_string()
            .starts_with(&format!("{}", file.join("out").display())),
        "{e}"
    );
    let e = OutputDir::prepare(&file, &["a"]).expect_err("a file");
    assert!(matches!(e, WriteError::NotReportDir { .. }), "{e}");
}
