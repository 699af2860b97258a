//! Adversarial inputs as data (`tests/adversarial/cases.toml`): each case is
//! a small project (files), a command line, the exit status it must give and
//! a fragment its output must hold. Every case must also: never panic, name
//! what is wrong in exactly one `pgharness: error:` line when it exits 2 or
//! 3, and never show a password it was given.
//!
//! Unless a case says `base = false`, its project starts from a one-table
//! sqlx chain in `migrations/`. File contents starting with `fifo:` make a
//! FIFO; `hex:` gives raw bytes.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use serde::Deserialize;

#[derive(Deserialize)]
struct Cases {
    case: Vec<Case>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    files: BTreeMap<String, String>,
    #[serde(default = "yes")]
    base: bool,
    args: Vec<String>,
    exit: i32,
    /// A fragment of stdout or stderr.
    says: String,
    /// Text that must not appear anywhere (a password).
    #[serde(default)]
    hides: Option<String>,
}

fn yes() -> bool {
    true
}

const BASE_UP: &str = "create table a (id int primary key, name text);\n";
const BASE_DOWN: &str = "drop table a;\n";

fn write_project(dir: &Path, case: &Case) {
    if case.base {
        std::fs::create_dir_all(dir.join("migrations")).unwrap();
        std::fs::write(dir.join("migrations/0001_a.up.sql"), BASE_UP).unwrap();
        std::fs::write(dir.join("migrations/0001_a.down.sql"), BASE_DOWN).unwrap();
    }
    for (name, content) in &case.files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        if content == "fifo:" {
            let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
            // SAFETY: mkfifo on a path we own.
            assert_eq!(
                unsafe { libc::mkfifo(c.as_ptr(), 0o600) },
                0,
                "mkfifo {name}"
            );
        } else if content == "dir:" {
            std::fs::create_dir_all(&path).unwrap();
        } else if let Some(hex) = content.strip_prefix("hex:") {
            let bytes: Vec<u8> = (0..hex.len() / 2)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            std::fs::write(&path, bytes).unwrap();
        } else {
            std::fs::write(&path, content).unwrap();
        }
    }
}

/// Runs one case; `Err` says how it broke the rules.
fn run(case: &Case) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path(), case);
    let mut child = Command::new(env!("CARGO_BIN_EXE_pgharness"))
        .args(&case.args)
        .current_dir(dir.path())
        .env_remove("PGHARNESS_DATABASE_URL")
        .env_remove("PGHARNESS_BACKEND")
        .env("PGHARNESS_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Nothing may hang: a case gets 60 s.
    let started = std::time::Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > std::time::Duration::from_secs(60) {
            let _ = child.kill();
            return Err("still running after 60 s".into());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let all = format!("{stdout}{stderr}");
    let code = out.status.code();
    if all.contains("panicked") || matches!(code, Some(101 | 134) | None) {
        return Err(format!("crashed ({code:?}): {all}"));
    }
    if code != Some(case.exit) {
        return Err(format!("exit {code:?}, expected {}: {all}", case.exit));
    }
    if !all.contains(&case.says) {
        return Err(format!("does not say `{}`: {all}", case.says));
    }
    if matches!(case.exit, 2 | 3) {
        let errors = stderr
            .lines()
            .filter(|l| l.starts_with("pgharness: error:"))
            .count();
        if errors != 1 {
            return Err(format!("{errors} error lines, expected one: {stderr}"));
        }
    }
    if let Some(secret) = &case.hides {
        if all.contains(secret.as_str()) {
            return Err(format!("shows `{secret}`: {all}"));
        }
    }
    Ok(())
}

#[test]
fn every_adversarial_input_gets_its_exit_status_and_a_clear_message() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/adversarial/cases.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let cases: Cases = toml::from_str(&text).unwrap();
    assert!(cases.case.len() >= 150, "only {} cases", cases.case.len());
    let mut names = std::collections::HashSet::new();
    for c in &cases.case {
        assert!(names.insert(c.name.clone()), "two cases named `{}`", c.name);
    }
    let queue = Mutex::new(cases.case.clone());
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| loop {
                let Some(case) = queue.lock().unwrap().pop() else {
                    return;
                };
                if let Err(why) = run(&case) {
                    failures
                        .lock()
                        .unwrap()
                        .push(format!("{}: {why}", case.name));
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.case.len(),
        failures.join("\n---\n")
    );
}
