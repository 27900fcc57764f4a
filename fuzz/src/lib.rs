//! What several fuzz targets check alike.

/// Asserts that an error's place, `(line, column)` counted from 1 with the
/// column in characters, is inside `text`: a line that exists, a column on
/// it or just past its end (where an editor's cursor can stand).
pub fn assert_inside(text: &str, place: Option<(usize, usize)>, error: &dyn std::fmt::Display) {
    let Some((line, column)) = place else {
        return;
    };
    let lines: Vec<&str> = text.split('\n').collect();
    assert!(
        line >= 1 && line <= lines.len(),
        "{error}: the text has {} lines",
        lines.len()
    );
    let width = lines[line - 1].chars().count();
    assert!(
        column >= 1 && column <= width + 1,
        "{error}: line {line} has {width} characters"
    );
}
