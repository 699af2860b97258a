//! The library runs on its caller's runtime: no nested or private runtime,
//! no blocking on one (ARCHITECTURE.md, "load-bearing boundaries"). Only the
//! binary's `main` builds the runtime everything runs on.

use std::path::Path;

const FORBIDDEN: &[&str] = &[
    "block_on(",
    "block_in_place",
    "runtime::Builder",
    "Runtime::new",
    "new_current_thread",
    "new_multi_thread",
    "futures::executor",
];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_library_never_builds_or_blocks_on_a_runtime() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "found only {} source files", files.len());
    let mut found = Vec::new();
    for file in files.iter().filter(|f| !f.ends_with("src/main.rs")) {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            for pattern in FORBIDDEN {
                if line.contains(pattern) {
                    found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "runtimes in the library:\n{}",
        found.join("\n")
    );
    // The binary builds the one runtime.
    let main = std::fs::read_to_string(src.join("main.rs")).unwrap();
    assert!(main.contains("runtime::Builder"));
}
