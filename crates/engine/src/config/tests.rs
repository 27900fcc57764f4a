use super::*;

const SITE: &str = r#"[[sites]]
name = "ams"
urls = ["http://ams.example.net"]
location = { lat = 52.37, lon = 4.9 }
"#;

fn error_of(policy: &str) -> ConfigError {
    let text = format!("{SITE}\n{policy}");
    PlatformConfig::parse("p.toml", &text).expect_err("a mistake")
}

#[test]
fn a_typo_inside_a_step_is_reported_at_its_own_line_and_column() {
    let e = error_of(
        r#"[[policies]]
name = "default"
steps = [
  { step = "available" },
  { step = "capacity", headrom = 0.1 },
  { step = "closest" },
]
"#,
    );
    // Line 10 of the file (the site takes 5 lines), `headrom` at column 24.
    assert_eq!(
        e.to_string(),
        "p.toml:10:24: unknown field `headrom`, expected `headroom`"
    );
}

#[test]
fn an_unknown_step_and_a_wrong_type_point_into_their_step() {
    let e = error_of("[[policies]]\nname = \"d\"\nsteps = [\n  { step = \"available\" },\n  { step = \"spil\" },\n]\n");
    assert!(
        e.to_string()
            .starts_with("p.toml:10:12: unknown variant `spil`"),
        "{e}"
    );
    let e = error_of("[[policies]]\nname = \"d\"\nsteps = [\n  { step = \"closest\",\n    bucket_km = \"far\" },\n]\n");
    assert!(
        e.to_string()
            .starts_with("p.toml:9:3: invalid type: string \"far\""),
        "{e}"
    );
}

#[test]
fn errors_outside_steps_keep_their_place() {
    let e = error_of("[[policies]]\nnme = \"d\"\nsteps = [{ step = \"closest\" }]\n");
    assert!(
        e.to_string().starts_with("p.toml:7:1: unknown field `nme`"),
        "{e}"
    );
}
