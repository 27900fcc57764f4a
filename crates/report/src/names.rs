//! Names of the directories configurations' reports go in
//! ([`output_names`]): distinct from each other and from the report's own
//! files, whatever the configurations are called.

use std::collections::HashSet;

use crate::dir::file_name;

/// The files and directories a report directory holds itself: no
/// configuration's directory may take one of these names.
pub const REPORT_FILES: [&str; 8] = [
    "report.html",
    "summary.json",
    "timeseries.csv",
    "rrd",
    "sites.svg",
    "sites.png",
    "groups.svg",
    "groups.png",
];

/// The directory name of each label's report: its [`file_name`], made
/// distinct with a suffix `-2`, `-3`, … where it would repeat an earlier
/// one or name one of the [`REPORT_FILES`] (`x_y/r.toml` and `x/y/r.toml`
/// both sanitise to `x_y_r.toml`: the second is `x_y_r.toml-2`). Names
/// are compared ignoring ASCII case, for case-insensitive file systems.
pub fn output_names(labels: &[impl AsRef<str>]) -> Vec<String> {
    let mut taken: HashSet<String> = REPORT_FILES.iter().map(|f| f.to_string()).collect();
    labels
        .iter()
        .map(|label| {
            let base = file_name(label.as_ref());
            let name = std::iter::once(base.clone())
                .chain((2..).map(|n| format!("{base}-{n}")))
                .find(|n| !taken.contains(&n.to_ascii_lowercase()))
                .unwrap_or(base); // the suffixes never run out
            taken.insert(name.to_ascii_lowercase());
            name
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_sanitise_alike_are_made_distinct() {
        let labels = ["x_y/r.toml", "x/y/r.toml", "x_y_r.toml"];
        assert_eq!(
            output_names(&labels),
            ["x_y_r.toml", "x_y_r.toml-2", "x_y_r.toml-3"]
        );
    }

    #[test]
    fn names_of_report_files_are_made_distinct() {
        let labels = ["report.html", "RRD", "summary.json", "..", ""];
        assert_eq!(
            output_names(&labels),
            ["report.html-2", "RRD-2", "summary.json-2", "_", "_-2"]
        );
    }
}
