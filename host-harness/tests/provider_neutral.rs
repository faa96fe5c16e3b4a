//! The host and the platform library are generic: they know a connector only through interface
//! v1, and an identity provider only as a parameter. Not one of their source files names a
//! provider (its product, its error codes, its hosts or its libraries).

use std::path::Path;

/// Words that would tie the library to one provider, lower-case, and whether they must end at a
/// word's end (`entra`, not `entrance`) or may run on (`aadsts50173`, `microsoftonline`).
const PROVIDER_WORDS: &[(&str, bool)] = &[
    ("microsoft", false),
    ("entra", true),
    ("aadsts", false),
    ("msal", true),
    ("azure", false),
    ("login.live", false),
    ("mock_entra", true),
];

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The provider words in `text`, matched as whole words (so `central` is not `entra`).
fn named(text: &str) -> Vec<&'static str> {
    let lower = text.to_ascii_lowercase();
    let boundary = |c: Option<char>| !c.is_some_and(|c| c.is_ascii_alphanumeric());
    PROVIDER_WORDS
        .iter()
        .filter(|(w, whole)| {
            lower.match_indices(w).any(|(i, _)| {
                boundary(lower[..i].chars().next_back()) && (!whole || boundary(lower[i + w.len()..].chars().next()))
            })
        })
        .map(|(w, _)| *w)
        .collect()
}

#[test]
fn no_source_file_of_the_library_names_a_provider() {
    let mut files = Vec::new();
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    assert!(files.len() > 15, "{} files", files.len());
    let mut found = Vec::new();
    for f in &files {
        for (n, line) in std::fs::read_to_string(f).unwrap().lines().enumerate() {
            for w in named(line) {
                found.push(format!("{}:{}: {w}", f.display(), n + 1));
            }
        }
    }
    assert!(found.is_empty(), "the host library names a provider:\n{}", found.join("\n"));
}

#[test]
fn the_check_finds_a_provider_and_spares_lookalikes() {
    assert_eq!(named("login.microsoftonline.com"), ["microsoft"]);
    assert_eq!(named("// Microsoft Entra ID"), ["microsoft", "entra"]);
    assert_eq!(named("error AADSTS50173"), ["aadsts"]);
    assert!(named("central registry; the entrance; contrast").is_empty());
}
