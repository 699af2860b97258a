//! The `pgharness` binary: exit statuses, one-line errors naming the file,
//! and the JSON contract of DESIGN.md.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

fn pgharness(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pgharness"))
        .args(args)
        // Run outside the repo so its pgharness.toml is not picked up.
        .current_dir(std::env::temp_dir())
        .env_remove("PGHARNESS_DATABASE_URL")
        .output()
        .expect("run pgharness")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Each broken chain directory, and a file the error must name.
const BAD: &[(&str, &str, &str)] = &[
    ("bad/empty", "bad/empty", "no migrations found"),
    ("bad/does_not_exist", "bad/does_not_exist", "not found"),
    (
        "bad/duplicate_version",
        "001_b.up.sql",
        "duplicate migration version",
    ),
    ("bad/mixed_layouts", "V2__b.sql", "mixed migration layouts"),
    (
        "bad/empty_repeatable",
        "R__views.sql",
        "the migration is empty (0 bytes)",
    ),
    (
        "bad/zero_byte",
        "0002_b.up.sql",
        "the migration is empty (0 bytes)",
    ),
    ("bad/non_utf8", "0002_b.up.sql:2", "not valid UTF-8"),
    (
        "bad/dbmate_without_up",
        "20240102000000_b.sql",
        "without a `-- migrate:up` line",
    ),
];

#[test]
fn discovery_errors_exit_2_with_one_line_naming_the_file() {
    for (dir, names, says) in BAD {
        let path = fixture(dir);
        for command in [&["list"][..], &["check", "--only", "apply"][..]] {
            let mut args = vec!["--migrations", path.to_str().unwrap()];
            args.extend_from_slice(command);
            let out = pgharness(&args);
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{dir} {command:?}: {stderr}");
            let error_lines: Vec<&str> = stderr.lines().filter(|l| l.contains("error")).collect();
            assert_eq!(error_lines.len(), 1, "{dir}: {stderr}");
            assert!(
                error_lines[0].contains(names),
                "{dir}: `{}` does not name {names}",
                error_lines[0]
            );
            assert!(
                error_lines[0].contains(says),
                "{dir}: `{}` does not say {says}",
                error_lines[0]
            );
            assert!(!stderr.contains("panicked"), "{dir}: {stderr}");
        }
    }
}

#[test]
fn config_errors_exit_2_naming_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pgharness.toml");
    std::fs::write(
        &config,
        "[migrations]\ndir = \"m\"\n\n[server]\nbakend = \"local\"\n",
    )
    .unwrap();
    let out = pgharness(&["-c", config.to_str().unwrap(), "list"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("pgharness.toml:5:1: unknown field `bakend`"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn a_wrong_type_in_the_config_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pgharness.toml");
    std::fs::write(&config, "[properties]\ncases = \"many\"\n").unwrap();
    let out = pgharness(&["-c", config.to_str().unwrap(), "list"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("pgharness.toml:2:9: invalid type: string \"many\", expected u32"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
}

#[test]
fn unknown_flags_and_properties_exit_2() {
    let out = pgharness(&["check", "--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    let path = fixture("layouts/sqlx");
    let out = pgharness(&[
        "--migrations",
        path.to_str().unwrap(),
        "check",
        "--only",
        "aply",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown property `aply`"));
}

#[test]
fn list_shows_the_chain() {
    let path = fixture("layouts/diesel");
    let out = pgharness(&[
        "--migrations",
        path.to_str().unwrap(),
        "--format",
        "json",
        "list",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["chain"]["layout"], "diesel");
    assert_eq!(v["chain"]["migrations"], 4);
    assert_eq!(v["migrations"][1]["id"], "20240102030405_create account");
    assert_eq!(v["migrations"][3]["transaction"], false);
}

#[test]
fn check_apply_json_matches_the_contract() {
    let path = fixture("layouts/sqlx");
    let out = pgharness(&[
        "--migrations",
        path.to_str().unwrap(),
        "--backend",
        "local",
        "check",
        "--only",
        "apply",
        "--format",
        "json",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object on stdout");
    assert_eq!(v["chain"]["layout"], "sqlx");
    assert_eq!(v["chain"]["migrations"], 3);
    assert_eq!(v["server"]["backend"], "local");
    assert!(v["server"]["version"]
        .as_str()
        .unwrap()
        .starts_with(char::is_numeric));
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    for r in results {
        assert_eq!(r["property"], "apply");
        assert_eq!(r["status"], "pass");
        assert!(r["message"].is_string());
    }
    assert_eq!(results[2]["target"], "0010_note_index");
    assert_eq!(v["summary"]["passed"], 3);
    assert_eq!(v["summary"]["failed"], 0);
    assert_eq!(v["summary"]["skipped"], 0);
}

#[test]
fn check_apply_on_a_broken_chain_exits_1_naming_file_line_and_sqlstate() {
    let path = fixture("broken/syntax_error");
    let out = pgharness(&[
        "--migrations",
        path.to_str().unwrap(),
        "--format",
        "json",
        "check",
        "--only",
        "apply",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let results = v["results"].as_array().unwrap();
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["pass", "pass", "fail", "skip"]);
    let failure = &results[2];
    assert_eq!(failure["target"], "0003_tags");
    let message = failure["message"].as_str().unwrap();
    assert!(
        message.contains("0003_tags.up.sql:4:8: syntax error"),
        "{message}"
    );
    assert!(message.contains("SQLSTATE 42601"), "{message}");
    assert!(failure["location"]["file"]
        .as_str()
        .unwrap()
        .ends_with("0003_tags.up.sql"));
    assert_eq!(failure["location"]["line"], 4);
    assert_eq!(failure["location"]["sqlstate"], "42601");
    assert!(failure["rerun"]
        .as_str()
        .unwrap()
        .ends_with("check --only apply"));
    assert_eq!(v["summary"]["failed"], 1);

    // The human report shows the same, with the line and a caret.
    let out = pgharness(&[
        "--migrations",
        path.to_str().unwrap(),
        "check",
        "--only",
        "apply",
    ]);
    let human = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(human.contains("FAIL  apply  0003_tags"), "{human}");
    assert!(human.contains("4 | create tabel note_tag ("), "{human}");
    assert!(
        human.contains("SKIP  apply  0004_later  (not reached: 0003_tags failed)"),
        "{human}"
    );
    assert!(human.contains("2 passed, 1 failed, 1 skipped"), "{human}");
}

#[test]
fn a_malformed_url_exits_2_and_its_password_never_shows() {
    let path = fixture("layouts/sqlx");
    let out = pgharness(&[
        "--migrations",
        path.to_str().unwrap(),
        "--database-url",
        "postgres://me:hunter2-secret@127.0.0.1:99999999/db",
        "check",
        "--only",
        "apply",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("invalid database URL postgres://me:***@127.0.0.1:99999999/db"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("hunter2") && !text(&out.stdout).contains("hunter2"),
        "{stderr}"
    );
}

#[test]
fn a_property_file_with_a_syntax_error_exits_2_naming_file_and_line() {
    let project = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(project.path().join("properties")).unwrap();
    std::fs::copy(
        fixture("bad/property_syntax.toml"),
        project.path().join("properties/broken.toml"),
    )
    .unwrap();
    let config = project.path().join("pgharness.toml");
    std::fs::write(
        &config,
        format!(
            "[migrations]\ndir = \"{}\"\n",
            root.join("tests/fixtures/layouts/sqlx").display()
        ),
    )
    .unwrap();
    let out = pgharness(&[
        "-c",
        config.to_str().unwrap(),
        "check",
        "--only",
        "properties",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let line = stderr.lines().find(|l| l.contains("error")).unwrap_or("");
    assert!(line.contains("properties/broken.toml:3:"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_profile_naming_a_missing_table_exits_2_naming_file_line_and_table() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("never.sql");
    let out = Command::new(env!("CARGO_BIN_EXE_pgharness"))
        .args(["seed", "--profile"])
        .arg(fixture("bad/profile_missing_table.toml"))
        .arg("--out")
        .arg(&out_file)
        .current_dir(root)
        .env_remove("PGHARNESS_DATABASE_URL")
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let line = stderr.lines().find(|l| l.contains("error")).unwrap_or("");
    assert!(
        line.contains("profile_missing_table.toml:5") && line.contains("customers"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!out_file.exists(), "nothing is written on an error");
}

#[test]
fn a_slow_migration_prints_no_driver_warnings_and_logs_have_no_color_codes_in_a_pipe() {
    let chain = tempfile::tempdir().unwrap();
    std::fs::write(
        chain.path().join("0001_slow.up.sql"),
        "create table t (id int);\nselect pg_sleep(1.2);\n",
    )
    .unwrap();
    std::fs::write(chain.path().join("0001_slow.down.sql"), "drop table t;\n").unwrap();
    let out = pgharness(&[
        "--migrations",
        chain.path().to_str().unwrap(),
        "check",
        "--only",
        "apply",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // The run logs its backend choice: the log is there, plain.
    assert!(stderr.contains("pgharness: "), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "color codes in a pipe: {stderr:?}"
    );
    assert!(
        !stderr.contains("slow statement") && !stderr.contains("pg_sleep"),
        "{stderr}"
    );
}

#[test]
fn color_follows_the_flag_and_no_color() {
    let path = fixture("layouts/sqlx");
    let run = |color: &str, no_color: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgharness"));
        cmd.args(["--migrations", path.to_str().unwrap(), "--color", color])
            .args(["check", "--only", "apply"])
            .env_remove("NO_COLOR");
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    assert!(run("always", None).contains("\u{1b}[32mPASS"));
    assert!(!run("never", None).contains('\u{1b}'));
    // auto: not a terminal here, so none; NO_COLOR changes nothing then,
    // and `always` wins over it (an explicit request).
    assert!(!run("auto", Some("1")).contains('\u{1b}'));
    assert!(run("always", Some("1")).contains('\u{1b}'));
    let out = pgharness(&["--color", "sometimes", "list"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn completions_print_without_reading_the_config() {
    // A broken config does not stop completions.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pgharness.toml"), "[server\n").unwrap();
    for (shell, says) in [
        ("bash", "_pgharness()"),
        ("zsh", "#compdef pgharness"),
        ("fish", "complete -c pgharness"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_pgharness"))
            .args(["completions", shell])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(script.contains(says), "{shell}: {script}");
        // The check command and its --only flag (fish writes `-l only`).
        assert!(
            script.contains("check") && (script.contains("--only") || script.contains("-l only")),
            "{shell}: {script}"
        );
    }
    let out = pgharness(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn only_property_name_runs_that_property_file_alone() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_pgharness"))
            .args(["--format", "json", "check"])
            .args(args)
            .args(["--cases", "4", "--seed", "3"])
            .current_dir(&root)
            .output()
            .unwrap();
        let report: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
        (out.status.code(), report, text(&out.stderr))
    };
    let (code, report, stderr) = run(&["--only", "property:goal_unique"]);
    assert_eq!(code, Some(0), "{stderr}");
    let properties: Vec<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["property"].as_str().unwrap())
        .collect();
    assert_eq!(properties, ["property:goal_unique"]);
    // Every result that ran says how long it took.
    let took = report["results"][0]["duration_ms"].as_f64().unwrap_or(0.0);
    assert!(took > 0.0, "{report}");
    // Skipping one file keeps the others.
    let (code, report, stderr) = run(&["--only", "properties", "--skip", "property:goal_unique"]);
    assert_eq!(code, Some(0), "{stderr}");
    let results = report["results"].as_array().unwrap();
    assert!(results.len() > 1);
    assert!(results
        .iter()
        .all(|r| r["property"] != "property:goal_unique"));
    // A name that is no file: exit 2, naming the files there are.
    let (code, _, stderr) = run(&["--only", "property:goal_uniq"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("unknown property file `property:goal_uniq` (have: ")
            && stderr.contains("goal_unique"),
        "{stderr}"
    );
}

#[test]
fn github_format_annotates_the_failing_line() {
    // Paths relative to the working directory, as GitHub places them.
    let out = Command::new(env!("CARGO_BIN_EXE_pgharness"))
        .args(["--migrations", "syntax_error", "--format", "github"])
        .args(["check", "--only", "apply"])
        .current_dir(fixture("broken"))
        .env_remove("PGHARNESS_DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let commands: Vec<&str> = stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(commands.len(), 1, "{stdout}");
    // The workflow command syntax: `::level key=value,...::message`, values
    // and message escaped, the whole command on one line.
    let line = commands[0];
    let (head, message) = line[2..].split_once("::").unwrap();
    let (level, props) = head.split_once(' ').unwrap();
    assert_eq!(level, "error");
    let props: Vec<(&str, &str)> = props
        .split(',')
        .map(|p| p.split_once('=').unwrap())
        .collect();
    assert_eq!(
        props,
        [
            ("file", "syntax_error/0003_tags.up.sql"),
            ("line", "4"),
            ("col", "8"),
            ("title", "apply 0003_tags"),
        ]
    );
    assert!(
        message.starts_with("syntax_error/0003_tags.up.sql:4:8: syntax error at or near \"tabel\"")
            && message.contains("%0A  4 | create tabel note_tag (")
            && message.contains("%0Arerun: pgharness"),
        "{message}"
    );
    // The summary is plain log text.
    assert!(
        stdout.lines().last().unwrap().contains("1 failed"),
        "{stdout}"
    );
}

#[test]
fn quiet_and_verbose_set_what_stderr_says() {
    let path = fixture("layouts/sqlx");
    let run = |flag: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_pgharness"))
            .args([flag, "--migrations", path.to_str().unwrap()])
            .args(["check", "--only", "apply"])
            .env_remove("PGHARNESS_LOG")
            .env_remove("PGHARNESS_DATABASE_URL")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stderr)
    };
    let quiet = run("-q");
    assert!(!quiet.contains("backend:"), "{quiet}");
    let verbose = run("-v");
    assert!(
        verbose.contains("backend:") && verbose.contains(": debug: "),
        "{verbose}"
    );
    let out = pgharness(&["-q", "-v", "list"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn progress_shows_on_a_terminal_only() {
    let path = fixture("layouts/sqlx");
    // The sample: long enough (about a second) for the line to be drawn.
    let command = format!(
        "cd {} && {} check --only apply,roundtrip > /dev/null",
        env!("CARGO_MANIFEST_DIR"),
        env!("CARGO_BIN_EXE_pgharness"),
    );
    // `script` gives the command a terminal (util-linux, on every Debian).
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_remove("PGHARNESS_DATABASE_URL")
        .output()
        .expect("script (util-linux) runs the command on a terminal");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let terminal = text(&out.stdout);
    assert!(
        terminal.contains("migrations,") && terminal.contains("checks done"),
        "{terminal}"
    );
    // In a pipe: nothing of it.
    let out = pgharness(&[
        "--migrations",
        path.to_str().unwrap(),
        "check",
        "--only",
        "apply",
    ]);
    assert!(!text(&out.stderr).contains("checks done"));
}

#[test]
fn a_bad_version_list_exits_2_naming_where_it_is() {
    let out = pgharness(&["--pg", "15,x", "list"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--pg: `x` is not a PostgreSQL major version"),
        "{stderr}"
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pgharness.toml");
    std::fs::write(&config, "[server]\nversions = [\"15\", \"9\"]\n").unwrap();
    let out = pgharness(&["-c", config.to_str().unwrap(), "list"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("pgharness.toml")
            && stderr.contains("server.versions: `9` is not a PostgreSQL major version"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // A matrix needs a server per version: one URL is one server.
    let out = pgharness(&[
        "--pg",
        "15,17",
        "--backend",
        "url",
        "--database-url",
        "postgres://u:secret@127.0.0.1:1/db",
        "check",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("the url backend has one"), "{stderr}");
    assert!(!stderr.contains("secret"), "{stderr}");
}
