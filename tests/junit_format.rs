//! `check --format junit` against the schema CI systems read: Surefire's
//! JUnit XSD (what Jenkins' xunit plugin and GitLab accept; pytest
//! validates its own JUnit output against the same file), taken from
//! pytest's source distribution on PyPI, validated with the `xmlschema`
//! package. Both are fetched once into the target directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// pytest's sdist holds the XSD at this path.
const PYTEST: &str = "pytest==8.3.4";
const XSD_IN_SDIST: &str = "pytest-8.3.4/testing/example_scripts/junit-10.xsd";

/// (python with xmlschema, the XSD), set up on first use.
fn validator() -> (PathBuf, PathBuf) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("junit-schema");
    std::fs::create_dir_all(&dir).unwrap();
    let python = dir.join("venv/bin/python");
    let run = |cmd: &mut Command, what: &str| {
        let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            out.status.success(),
            "{what} failed (PyPI must be reachable once to fetch the JUnit schema and xmlschema):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    if !python.is_file() {
        run(
            Command::new("python3")
                .args(["-m", "venv"])
                .arg(dir.join("venv")),
            "python3 -m venv",
        );
        run(
            Command::new(&python).args(["-m", "pip", "install", "-q", "xmlschema==4.3.2"]),
            "pip install xmlschema",
        );
    }
    let xsd = dir.join("junit-10.xsd");
    if !xsd.is_file() {
        run(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "download",
                    "-q",
                    "--no-deps",
                    "--no-binary",
                    ":all:",
                    PYTEST,
                    "-d",
                ])
                .arg(&dir),
            "pip download pytest",
        );
        let script = format!(
            "import glob, tarfile, sys\n\
             t = tarfile.open(glob.glob(sys.argv[1] + '/pytest-*.tar.gz')[0])\n\
             open(sys.argv[2], 'wb').write(t.extractfile('{XSD_IN_SDIST}').read())\n"
        );
        run(
            Command::new(&python)
                .args(["-c", &script])
                .arg(&dir)
                .arg(&xsd),
            "extracting junit-10.xsd",
        );
    }
    (python, xsd)
}

/// Validates `xml` against the schema; the validator's complaint otherwise.
fn validate(xml: &str) -> Result<(), String> {
    let (python, xsd) = validator();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), xml).unwrap();
    let out = Command::new(python)
        .args([
            "-c",
            "import sys, xmlschema; xmlschema.XMLSchema(sys.argv[1]).validate(sys.argv[2])",
        ])
        .arg(xsd)
        .arg(file.path())
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn pgharness(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pgharness"))
        .args(args)
        .current_dir(dir)
        .env_remove("PGHARNESS_DATABASE_URL")
        .output()
        .unwrap()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn junit_reports_validate_against_the_ci_schema_and_match_json() {
    // The schema check can fail: a document it must reject.
    assert!(validate("<testsuites><testcase/></testsuites>").is_err());

    let runs: [(PathBuf, &[&str]); 2] = [
        // A failure with evidence (quotes, a caret), a skip.
        (
            root().join("tests/fixtures/broken"),
            &[
                "--migrations",
                "syntax_error",
                "check",
                "--only",
                "apply,roundtrip",
            ],
        ),
        // The sample: passes, partial results, property files.
        (
            root(),
            &[
                "check",
                "--only",
                "apply,idempotency,properties",
                "--cases",
                "4",
            ],
        ),
    ];
    for (dir, args) in runs {
        let mut junit_args = vec!["--format", "junit"];
        junit_args.extend_from_slice(args);
        junit_args.extend_from_slice(&["--seed", "5"]);
        let out = pgharness(&dir, &junit_args);
        let xml = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if let Err(why) = validate(&xml) {
            panic!("{args:?}: not valid JUnit:\n{why}\n{xml}");
        }
        // The same verdicts as the JSON report.
        let mut json_args = vec!["--format", "json"];
        json_args.extend_from_slice(args);
        json_args.extend_from_slice(&["--seed", "5"]);
        let out = pgharness(&dir, &json_args);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let results = report["results"].as_array().unwrap();
        let failed = results.iter().filter(|r| r["status"] == "fail").count();
        assert!(
            xml.contains(&format!(
                "<testsuites name=\"pgharness\" tests=\"{}\" failures=\"{failed}\"",
                results.len()
            )),
            "{args:?}:\n{xml}"
        );
        assert_eq!(xml.matches("<testcase ").count(), results.len());
        assert_eq!(xml.matches("<failure ").count(), failed);
    }
}
