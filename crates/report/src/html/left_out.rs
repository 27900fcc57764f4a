//! The report's "Left out" sections: lines that could not be read, and
//! requests routed to no site with the reason, by path prefix.

use std::fmt::Write;

use routecast_replay::{Rejected, Report, Tally};

use super::esc;

fn gb(bytes: u64) -> f64 {
    bytes as f64 / 1e9
}

/// The malformed lines of the logs (shared by every replay): how many,
/// and the first ones with file, line and reason.
pub(super) fn malformed(out: &mut String, rejected: &Rejected) {
    let _ = write!(
        out,
        "<h2>Lines not read</h2><p class=\"meta\">{} malformed lines (not replayed).</p>",
        rejected.count
    );
    if rejected.first.is_empty() {
        return;
    }
    let shown = rejected.first.len();
    let _ = write!(
        out,
        "<table class=\"malformed\"><tr><th>the first {shown}: file:line: reason</th></tr>"
    );
    for line in &rejected.first {
        let _ = write!(out, "<tr><td>{}</td></tr>", esc(&line.to_string()));
    }
    out.push_str("</table>");
}

fn row(out: &mut String, what: &str, t: &Tally, reason: &str) {
    let _ = write!(
        out,
        "<tr><td>{}</td><td>{}</td><td>{:.3}</td><td>{}</td></tr>",
        esc(what),
        t.requests,
        gb(t.bytes),
        esc(reason)
    );
}

/// One replay's requests routed to no site: by path prefix with the
/// reason, then the rest; and the late lines (routed, not dropped).
pub(super) fn unserved(out: &mut String, r: &Report) {
    let l = &r.left_out;
    let _ = write!(
        out,
        "<h3>Left out</h3><p class=\"meta\">{} requests ({:.3} GB) with no site; {} late lines \
         (start earlier than the reordering window allowed: routed at once, with the load of the moment they came).</p>",
        r.stats.no_site,
        gb(r.stats.no_site_bytes),
        l.late
    );
    if r.stats.no_site == 0 {
        return;
    }
    out.push_str("<table class=\"left-out\"><tr><th>path prefix</th><th>requests</th><th>GB</th><th>why no site serves them</th></tr>");
    for p in &l.not_served_prefixes {
        row(
            out,
            &p.prefix,
            &Tally {
                requests: p.requests,
                bytes: p.bytes,
            },
            &p.reason,
        );
    }
    if l.not_served_other.requests > 0 {
        row(
            out,
            "(other prefixes)",
            &l.not_served_other,
            "no site's content covers them",
        );
    }
    if l.no_site_available.requests > 0 {
        row(
            out,
            "(any)",
            &l.no_site_available,
            "sites serve the content, but none could take it: down, disabled, or none the client's group may use",
        );
    }
    out.push_str("</table>");
}
