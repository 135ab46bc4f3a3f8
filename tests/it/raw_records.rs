//! The books own the records: outside `src/books/` and `src/store/`, no code calls the raw
//! record methods of the store or builds a commit by hand. Only the bench's counting wrapper
//! names them, to pass them through.

use std::path::{Path, PathBuf};

/// The store's record half that only the books may call.
const RAW: &[&str] = &[
    ".ledger_get(",
    ".ledger_levels(",
    ".ledger_lines(",
    ".ledger_scan(",
    ".ledger_commit(",
    ".commit_event(",
    ".dirty_settled(",
    ".clear_dirty(",
    ".ledger_dirty(",
];

/// Where they may appear: the books, the backends, and the wrapper that counts them.
const ALLOWED: &[&str] = &["src/books/", "src/store/", "src/bench/ledger/counting.rs"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a readable source directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `(file, line number, line)` of `src/` outside the allowed places that holds one of
/// `needles`, comments aside.
fn offending(needles: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut found = Vec::new();
    for file in files {
        let relative = file.strip_prefix(root).expect("under the crate").to_string_lossy().replace('\\', "/");
        if ALLOWED.iter().any(|a| relative.starts_with(a)) {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("a readable source file");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if needles.iter().any(|needle| code.contains(needle)) {
                found.push(format!("{relative}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn raw_record_methods_are_called_only_by_the_books_and_the_store() {
    let found = offending(RAW);
    assert!(found.is_empty(), "raw record calls outside src/books and src/store:\n{}", found.join("\n"));
}

#[test]
fn no_commit_is_built_by_hand_outside_the_books_and_the_store() {
    let found = offending(&["LedgerCommit {", "LedgerCommit::default("]);
    assert!(found.is_empty(), "hand-built commits outside src/books and src/store:\n{}", found.join("\n"));
}

#[test]
fn the_check_finds_a_raw_call_where_one_is() {
    // The scan itself works: the books do call the store's record methods.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let books = std::fs::read_to_string(root.join("src/books/mod.rs")).expect("the books");
    assert!(RAW.iter().any(|needle| books.contains(needle)));
}
