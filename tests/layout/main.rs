//! The layout's rules, checked by reading the `crate::` paths in `src/`: data flows
//! discover → probe → judge → pipeline → export → run, and no module names a stage after its own
//! (so there are no cycles between the top-level modules either). Small shared helpers
//! (`timefmt`, `registry`, `textsafe`, `connslots`, `http_client`, `crypto`) sit below every stage; `cli` (the command line) is read only by `run` and `main`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Top-level modules in flow order; a module may name only modules at its own rank or lower.
const RANKS: &[(&str, u8)] = &[
    ("timefmt", 0),
    ("registry", 0),
    ("textsafe", 0),
    ("connslots", 0),
    ("http_client", 0),
    ("crypto", 0),
    ("config", 1),
    ("discovery", 2),
    ("probe", 3),
    ("checks", 4),
    ("pipeline", 5),
    ("export", 6),
    ("echo", 6),
    ("cli", 7),
    ("run", 8),
    ("demo", 9),
];

fn rank(module: &str) -> u8 {
    RANKS
        .iter()
        .find(|(m, _)| *m == module)
        .map(|(_, r)| *r)
        .unwrap_or_else(|| panic!("top-level module `{module}` has no place in RANKS"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file under `src/` belongs to (`None` for lib.rs and main.rs).
fn owner(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel
        .components()
        .next()?
        .as_os_str()
        .to_string_lossy()
        .to_string();
    match first.strip_suffix(".rs") {
        Some("lib" | "main") => None,
        Some(m) => Some(m.to_string()),
        None => Some(first),
    }
}

/// Every `crate::<module>` a file names (in `use` lines and in paths).
fn named_modules(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            found.insert(name);
        }
    }
    found
}

#[test]
fn no_module_imports_a_stage_after_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut violations = Vec::new();
    for file in &files {
        let Some(module) = owner(&src, file) else {
            continue;
        };
        let text = std::fs::read_to_string(file).expect("read source");
        for named in named_modules(&text) {
            if named != module && rank(&named) > rank(&module) {
                violations.push(format!(
                    "{}: `{module}` imports `{named}`, a later stage",
                    file.strip_prefix(&src).unwrap().display()
                ));
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn src_has_only_small_shared_files_at_the_top() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut top: Vec<String> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    top.sort();
    assert_eq!(
        top,
        [
            "cli.rs",
            "connslots.rs",
            "crypto.rs",
            "http_client.rs",
            "lib.rs",
            "main.rs",
            "registry.rs",
            "textsafe.rs",
            "timefmt.rs"
        ],
        "a new top-level file belongs in one of the stage folders"
    );
}
