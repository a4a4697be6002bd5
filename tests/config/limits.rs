//! The parser's limits (size, nesting, alias expansion), the byte-order mark, and a bounded
//! property test: whatever the input, the loader answers Ok or one short line, never a panic.

use std::path::Path;

use edgewatch::config;
use proptest::prelude::*;

#[test]
fn a_file_over_16_mb_is_refused_before_it_is_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.yaml");
    let host = "a".repeat(17 * 1024 * 1024);
    std::fs::write(&path, format!("targets:\n  - host: {host}\n")).unwrap();
    let err = config::load(Some(&path)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: the file is larger than 16 MB; a config file is at most that",
            path.display()
        )
    );
}

#[test]
fn a_huge_value_is_echoed_as_a_short_prefix() {
    let host = "a".repeat(10 * 1024 * 1024);
    let file = config::parse(&format!("targets:\n  - host: \"{host} x\"\n"), "big.yaml").unwrap();
    let err = edgewatch::run::settings::validate(file, "big.yaml", &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "big.yaml: targets[0].host: `{}…` is not a valid DNS name",
            "a".repeat(80)
        )
    );
}

#[test]
fn two_hundred_thousand_nested_brackets_are_refused_at_once() {
    let text = format!("targets: {}", "[".repeat(200_000));
    let err = config::parse(&text, "deep.yaml").unwrap_err();
    assert_eq!(
        err.to_string(),
        "deep.yaml:1:73: lists and mappings are nested deeper than 64 levels"
    );
}

#[test]
fn a_1_mb_anchor_used_5000_times_is_refused_without_expanding_it() {
    let mut text = format!(
        "targets:\n  - host: a.example.com\n    name: &a \"{}\"\n",
        "A".repeat(1_000_000)
    );
    for i in 0..5000 {
        text.push_str(&format!("  - host: a{i}.example.com\n    name: *a\n"));
    }
    let err = config::parse(&text, "alias.yaml").unwrap_err();
    assert_eq!(
        err.to_string(),
        "alias.yaml:3:11: targets[33].name: aliases (*name) expand the file to more than 32 MB; \
         use each anchor fewer times"
    );
}

#[test]
fn a_few_aliases_are_fine() {
    let text = "targets:\n  - host: a.example.com\n    lb_hostname: &lb nlb.example.com\n  \
                - host: b.example.com\n    lb_hostname: *lb\n";
    let file = config::parse(text, "ok.yaml").unwrap();
    assert_eq!(file.targets.len(), 2);
}

#[test]
fn a_utf8_byte_order_mark_is_accepted() {
    let path = Path::new("tests/fixtures/config/valid-bom.yaml");
    let settings = edgewatch::run::settings::load(Some(path), &[]).unwrap();
    assert_eq!(settings.targets.len(), 1);
    assert_eq!(settings.interval.as_secs(), 30);
}

#[test]
fn says_no_targets_only_when_written() {
    assert!(config::says_no_targets("targets: []\n"));
    assert!(config::says_no_targets("interval: 30s\ntargets:\n"));
    assert!(!config::says_no_targets(""));
    assert!(!config::says_no_targets("interval: 30s\n"));
    assert!(!config::says_no_targets(
        "targets:\n  - host: a.example.com\n"
    ));
}

/// Pieces that YAML (and the limits' scanner) treat specially.
fn yamlish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("targets:".to_string()),
        Just("\n".to_string()),
        Just("  ".to_string()),
        Just("\t".to_string()),
        Just("- ".to_string()),
        Just("host: ".to_string()),
        Just("port: ".to_string()),
        Just("interval: ".to_string()),
        Just("&a ".to_string()),
        Just("*a".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just(", ".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("#".to_string()),
        Just("---\n".to_string()),
        Just("\u{feff}".to_string()),
        Just("!tag ".to_string()),
        Just("? ".to_string()),
        Just("|\n".to_string()),
        "[a-z0-9.:/-]{0,12}",
        any::<String>(),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

#[test]
fn a_key_with_a_newline_is_quoted_escaped_on_one_line() {
    // Found by the property test below: serde quotes the unknown key raw.
    let err = config::parse("? \"\n\n\"", "fuzz.yaml")
        .unwrap_err()
        .to_string();
    assert!(!err.contains('\n'), "{err}");
    assert!(err.contains("unknown field `\\n`"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn the_loader_never_panics_and_errors_are_one_short_line(text in yamlish()) {
        match config::parse(&text, "fuzz.yaml") {
            Ok(file) => {
                if config::validate(&file, "fuzz.yaml").is_ok() {
                    let _ = edgewatch::run::settings::validate(file, "fuzz.yaml", &[]);
                }
            }
            Err(err) => {
                let line = err.to_string();
                prop_assert!(!line.contains('\n'), "{line}");
                prop_assert!(line.chars().count() < 600, "{line}");
            }
        }
    }
}
