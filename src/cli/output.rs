//! Writing result files atomically: a complete file or the old one, never a
//! partial one (write to a temporary file in the same directory, then rename).

use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;

use routecast_replay::Report;

use super::simulate::Rejected;
use super::Failure;

/// Writes `path` through `fill`, replacing any old file only when complete.
pub fn atomic_write(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), Failure> {
    let fail = |e: std::io::Error| {
        Failure::Other(anyhow::anyhow!("{}: cannot write: {e}", path.display()))
    };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let file = fs::File::create(&tmp)?;
        let mut w = BufWriter::new(file);
        fill(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(fail)
}

/// Writes `timeseries.csv` and `summary.json` into `dir` (created if needed).
pub fn write_outputs(dir: &Path, report: &Report, rejected: &Rejected) -> Result<(), Failure> {
    fs::create_dir_all(dir)
        .map_err(|e| Failure::Other(anyhow::anyhow!("{}: cannot create: {e}", dir.display())))?;
    atomic_write(&dir.join("timeseries.csv"), |w| report.write_csv(w))?;
    atomic_write(&dir.join("summary.json"), |w| {
        let doc = serde_json::json!({ "summary": report.summary_json(), "malformed": rejected });
        serde_json::to_writer_pretty(&mut *w, &doc)?;
        writeln!(w)
    })
}
