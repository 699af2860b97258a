//! Constraint properties (`properties/*.toml`) against generated data: the
//! sample's rules hold, and broken variants of the sample chain are caught
//! with a minimal counterexample.

mod common;

use common::{copy_dir, evidence, root, run_properties, sample_project, sample_property};

use std::process::Command;

use pgharness::properties::Status;

/// A copy of the sample project with `file` of its chain patched
/// (`from` -> `to`, which must occur) and only the property `property`.
fn broken_sample(file: &str, from: &str, to: &str, property: &str) -> tempfile::TempDir {
    let (name, text) = sample_property(property);
    sample_project(&[(name, &text)], Some((file, from, to)))
}

/// Runs the properties of `project` and returns the only result, which
/// must have `status`.
async fn only(
    project: &std::path::Path,
    cases: u32,
    seed: u64,
    status: Status,
) -> pgharness::properties::PropertyResult {
    let mut results = run_properties(project, cases, seed).await;
    assert_eq!(results.len(), 1);
    let r = results.remove(0);
    assert_eq!(r.status, status, "{}", evidence(&r));
    r
}

/// [`only`]: a pass whose first check had rows to check in some case.
async fn exercised_pass(project: &std::path::Path, cases: u32, seed: u64) {
    let r = only(project, cases, seed, Status::Pass).await;
    assert!(
        !r.message.contains("exercised in check 1: 0"),
        "{}",
        r.message
    );
}

#[tokio::test]
async fn the_sample_properties_hold() {
    let results = run_properties(&root(), 24, 11).await;
    let names: Vec<&str> = results.iter().map(|r| r.property.as_str()).collect();
    assert_eq!(
        names,
        [
            "property:audit_json",
            "property:goal_unique",
            "property:rename_preserves_users",
            "property:rls_visibility",
            "property:task_start_race",
            "property:week_lock",
            "property:week_lock_race"
        ]
    );
    for r in &results {
        assert_eq!(r.status, Status::Pass, "{}", evidence(r));
        let first = if r.property.ends_with("_race") {
            "exercised in race 1: "
        } else {
            "exercised in check 1: "
        };
        assert!(r.message.contains(first), "{}", r.message);
    }
}

#[tokio::test]
async fn without_the_unique_constraint_the_minimal_case_is_one_goal_and_its_parents() {
    let project = broken_sample(
        "0005_goal.up.sql",
        "  updated_at  timestamptz not null default now(),\n  constraint goal_one_kind_per_cycle unique (cycle_id, kind)\n",
        "  updated_at  timestamptz not null default now()\n",
        "goal_unique.toml",
    );
    let r = &only(project.path(), 32, 5, Status::Fail).await;
    let text = evidence(r);
    assert!(
        text.contains("check 1 (reject)")
            && text.contains("succeeded, but the rule says it must fail with SQLSTATE 23505"),
        "{text}"
    );
    // One goal, and only the cycle and user that goal needs.
    let diff = r.diff.as_deref().unwrap();
    assert!(diff.contains("minimal data set (3 rows):"), "{diff}");
    for table in ["app_users", "cycle", "goal"] {
        assert_eq!(
            diff.matches(&format!("INSERT INTO \"public\".\"{table}\""))
                .count(),
            1,
            "{diff}"
        );
    }
    assert!(r.rerun.as_deref().unwrap().contains("--seed 5"));
    // The failing case is persisted in proptest's regression file.
    let saved = std::fs::read_to_string(
        project
            .path()
            .join("properties/goal_unique.proptest-regressions"),
    )
    .unwrap();
    assert!(saved.lines().any(|l| l.starts_with("cc ")), "{saved}");
    // And replayed before any new case: another seed, no new cases, the
    // same failure.
    let again = run_properties(project.path(), 0, 6).await;
    assert_eq!(again[0].status, Status::Fail, "{}", evidence(&again[0]));
    assert!(
        again[0]
            .diff
            .as_deref()
            .unwrap()
            .contains("minimal data set (3 rows):"),
        "{}",
        evidence(&again[0])
    );
}

#[tokio::test]
async fn a_lock_on_weeks_8_to_12_only_is_caught_at_week_7() {
    let project = broken_sample(
        "0008_week_lock.up.sql",
        "if old.week_no not between 7 and 12 then",
        "if old.week_no not between 8 and 12 then",
        "week_lock.toml",
    );
    let r = &only(project.path(), 64, 3, Status::Fail).await;
    assert!(r.message.contains("check 1 (reject)"), "{}", r.message);
    assert!(
        r.message.contains("$2 = '7'") && r.message.contains("succeeded"),
        "{}",
        r.message
    );
    // The fewest rows: a user, a locked cycle, its week 7.
    let diff = r.diff.as_deref().unwrap();
    assert!(diff.contains("minimal data set (3 rows):"), "{diff}");
    for table in ["app_users", "cycle", "weekly_plan"] {
        assert_eq!(
            diff.matches(&format!("INSERT INTO \"public\".\"{table}\""))
                .count(),
            1,
            "{diff}"
        );
    }
}

#[tokio::test]
async fn a_backfill_that_loses_null_emails_fails_preservation_and_shows_such_a_row() {
    let project = broken_sample(
        "0013_app_users.up.sql",
        "    from users\n   order by id\n",
        "    from users\n   where email is not null\n   order by id\n",
        "rename_preserves_users.toml",
    );
    let r = &only(project.path(), 32, 2, Status::Fail).await;
    let text = evidence(r);
    assert!(
        text.contains("check 1 (preserve)") && text.contains("data not preserved"),
        "{text}"
    );
    // The first differing row is a user whose email is NULL.
    let before = text.split("before (").nth(1).unwrap_or("");
    assert!(
        before.split(')').next().unwrap_or("").contains("NULL"),
        "{text}"
    );
}

/// The case's data is loaded once for a plain check and both preservation
/// checks (one migration to head for both), and when an up after the
/// property's version cannot run in a transaction (sqlx's
/// `-- no-transaction`), the case migrates a database of its own: the
/// broken backfill is caught either way, by the first preservation check.
#[tokio::test]
async fn preservation_checks_share_one_load_and_one_migration_in_or_out_of_a_transaction() {
    let (_, text) = sample_property("rename_preserves_users.toml");
    let text = text.replacen(
        "[[check]]",
        "[[check]]\nexpect = \"accept\"\nsql = \"insert into users (display_name) values ('new user')\"\n\n[[check]]",
        1,
    );
    for no_transaction in [false, true] {
        let project = sample_project(
            &[("rename_preserves_users.toml", &text)],
            Some((
                "0013_app_users.up.sql",
                "    from users\n   order by id\n",
                "    from users\n   where email is not null\n   order by id\n",
            )),
        );
        if no_transaction {
            let path = project
                .path()
                .join("migrations/0015_one_task_in_progress.up.sql");
            let sql = std::fs::read_to_string(&path).unwrap();
            std::fs::write(&path, format!("-- no-transaction\n{sql}")).unwrap();
        }
        let r = &only(project.path(), 32, 2, Status::Fail).await;
        let text = evidence(r);
        assert!(
            text.contains("check 2 (preserve)") && text.contains("data not preserved"),
            "no_transaction={no_transaction}: {text}"
        );
    }
    // Unbroken, the plain check and both preservation checks pass and are
    // exercised.
    let project = sample_project(&[("rename_preserves_users.toml", &text)], None);
    let r = &only(project.path(), 16, 2, Status::Pass).await;
    assert!(
        r.message.contains("check 1: 16") && r.message.contains("check 3: "),
        "{}",
        r.message
    );
}

/// A policy that lets a user read every cycle breaks check 1 of
/// rls_visibility: its statement runs as `app_user` with `app.user_id` set
/// from the row, and its own result (not the settings') is the verdict.
#[tokio::test]
async fn a_policy_that_shows_other_users_cycles_fails_the_role_and_setting_check() {
    let project = broken_sample(
        "0012_rls_and_grants.up.sql",
        "  using (owner_id = nullif(current_setting('app.user_id', true), '')::bigint)\n",
        "  using (true)\n",
        "rls_visibility.toml",
    );
    let r = &only(project.path(), 32, 4, Status::Fail).await;
    assert!(
        r.message.contains("check 1 (hold)") && r.message.contains("returned false"),
        "{}",
        evidence(r)
    );
}

fn project_with_property(text: &str) -> tempfile::TempDir {
    sample_project(&[("rule.toml", text)], None)
}

#[test]
fn a_typo_in_a_property_file_exits_2_naming_file_line_and_key() {
    let project = project_with_property(
        "name = \"x\"\n\n[[check]]\nexpect = \"reject\"\nfor_eech = \"select id from goal\"\nsql = \"select 1\"\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_pgharness"))
        .args(["check", "--only", "properties"])
        .current_dir(project.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("properties/rule.toml:5:1: unknown field `for_eech`"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
}

#[tokio::test]
async fn a_check_that_is_never_exercised_fails_as_vacuous() {
    let project = project_with_property(
        "name = \"goals of cycles far in the future are unique\"\n\n[data]\nrows = { cycle = 3, goal = 4 }\n\n[[check]]\nexpect = \"reject\"\nfor_each = \"select g.cycle_id, g.kind from goal g join cycle c on c.id = g.cycle_id where c.start_date > date '2999-01-01'\"\nsql = \"insert into goal (cycle_id, kind, title) values ($1, $2, 'again')\"\nsqlstate = \"23505\"\n",
    );
    let r = &only(project.path(), 16, 1, Status::Fail).await;
    assert!(
        r.message
            .contains("rule.toml:6: check 1 (reject) was never exercised"),
        "{}",
        r.message
    );
    assert!(r.message.contains("in all 16 cases"), "{}", r.message);
}

#[tokio::test]
async fn a_file_that_lists_its_tables_gets_those_and_the_tables_they_reference() {
    // Goals need cycles, cycles need users; tasks, weekly plans, visions and
    // chats are nobody's parents here and stay empty.
    let unrelated = "(select count(*) from task) + (select count(*) from weekly_plan) + (select count(*) from vision) + (select count(*) from chat_session)";
    let project = project_with_property(&format!(
        "name = \"goals and what they need\"\n\n[data]\nrows = {{ goal = 4 }}\n\n[[check]]\nexpect = \"hold\"\nfor_each = \"select g.id from goal g join cycle c on c.id = g.cycle_id join app_users u on u.id = c.owner_id\"\nsql = \"select {unrelated} = 0\"\n"
    ));
    exercised_pass(project.path(), 32, 3).await;

    // A check that reads a table the file neither lists nor needs proved
    // nothing, and says which way out there is.
    let project = project_with_property(
        "name = \"tasks\"\n\n[data]\nrows = { goal = 4 }\n\n[[check]]\nexpect = \"hold\"\nfor_each = \"select id from task\"\nsql = \"select true\"\n",
    );
    let r = &only(project.path(), 16, 3, Status::Fail).await;
    assert!(
        r.message.contains("check 1 (hold) was never exercised")
            && r.message.contains("give [data] rows the tables it reads"),
        "{}",
        r.message
    );

    // `default_rows` fills every other table too.
    let project = project_with_property(
        "name = \"tasks\"\n\n[data]\nrows = { goal = 4 }\ndefault_rows = 3\n\n[[check]]\nexpect = \"hold\"\nfor_each = \"select id from task\"\nsql = \"select true\"\n",
    );
    exercised_pass(project.path(), 16, 3).await;
}

/// A chain of one table whose CHECKs use a regular expression (generated
/// from its pattern), a function (decided by the server) and a user
/// function no generated value passes, and a property file.
fn person_project(property: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let migrations = dir.path().join("migrations");
    std::fs::create_dir_all(&migrations).unwrap();
    std::fs::write(
        migrations.join("0001_person.up.sql"),
        "create function valid_nick(n text) returns boolean language plpgsql immutable as $$ begin return n like 'n-%'; end $$;\ncreate table person (\n  id bigserial primary key,\n  email text not null check (email ~ '^[^@ ]+@[^@ ]+$'),\n  nick text not null check (position('@' in nick) = 0 and valid_nick(nick))\n);\n",
    )
    .unwrap();
    std::fs::write(
        migrations.join("0001_person.down.sql"),
        "drop table person;\ndrop function valid_nick(text);\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("pgharness.toml"),
        "[migrations]\ndir = \"migrations\"\nlayout = \"sqlx\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("properties")).unwrap();
    std::fs::write(dir.path().join("properties/rule.toml"), property).unwrap();
    dir
}

const PERSON_CHECK: &str = "[[check]]\nexpect = \"accept\"\nfor_each = \"select email, nick from person\"\nsql = \"insert into person (email, nick) values ($1, $2)\"\n";

#[tokio::test]
async fn a_property_file_shapes_its_data_where_the_generator_cannot_read_a_check() {
    let bare = person_project(&format!(
        "name = \"people can share an email\"\n\n[data]\nrows = {{ person = 5 }}\n\n{PERSON_CHECK}"
    ));
    let out = Command::new(env!("CARGO_BIN_EXE_pgharness"))
        .args(["check", "--only", "properties"])
        .current_dir(bare.path())
        .output()
        .unwrap();
    // Unshaped: PostgreSQL rejects every generated nick, the check never
    // sees a row, and this property fails saying which constraint and what
    // to write under [data.tables...]; the check is not aborted (exit 1).
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL  property:rule")
            && stdout.contains("was never exercised")
            && stdout.contains("rows of public.person under person_nick_check")
            && stdout.contains("under [data.tables.\"public.person\".columns.<column>]"),
        "{stdout}"
    );
    // Shaped as the message says: every case loads (the values satisfy the
    // checks Postgres enforces; the email is generated from its pattern),
    // shrunk cases included.
    let shaping = "[data.tables.\"public.person\".columns.nick]\nvalues = [\"n-ann\", \"n-bob\"]\n";
    let shaped = person_project(&format!(
        "name = \"people can share an email\"\n\n[data]\nrows = {{ person = 5 }}\n\n{shaping}\n{PERSON_CHECK}"
    ));
    let results = run_properties(shaped.path(), 64, 9).await;
    let r = &results[0];
    assert_eq!(r.status, Status::Pass, "{}", evidence(r));
    assert!(r.message.starts_with("64 cases"), "{}", r.message);
    assert!(
        !r.message.contains("exercised in check 1: 0"),
        "{}",
        r.message
    );
    // `person` and `public.person` are one table: given twice, an error
    // naming both.
    let twice = person_project(&format!(
        "name = \"x\"\n\n[data]\nrows = {{ person = 5 }}\n\n{shaping}\n[data.tables.person]\nrows = 2\n\n{PERSON_CHECK}"
    ));
    let out = Command::new(env!("CARGO_BIN_EXE_pgharness"))
        .args(["check", "--only", "properties"])
        .current_dir(twice.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "properties/rule.toml:9: table `person` is the same table as `public.person` (line 6)"
        ),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_property_file_can_start_from_a_seed_profile() {
    // The dev profile gives cycle titles from a list; rows on top.
    let project = project_with_property(
        "name = \"cycle titles come from the dev profile\"\n\n[data]\nprofile = \"../seeds/dev.toml\"\nrows = { cycle = 3 }\n\n[[check]]\nexpect = \"hold\"\nfor_each = \"select title from cycle\"\nsql = \"select $1 in ('Q1 focus', 'Q2 focus', 'Q3 focus', 'Q4 focus', 'Spring sprint', 'Summer sprint', 'Autumn sprint', 'Winter sprint', 'Fresh start', 'Deep work', '')\"\n",
    );
    copy_dir(&root().join("seeds"), &project.path().join("seeds"));
    exercised_pass(project.path(), 32, 4).await;

    let missing = project_with_property(
        "name = \"x\"\n\n[data]\nprofile = \"../seeds/none.toml\"\n\n[[check]]\nexpect = \"accept\"\nsql = \"select 1\"\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_pgharness"))
        .args(["check", "--only", "properties"])
        .current_dir(missing.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("properties/rule.toml:4: [data] profile: ") && stderr.contains("none.toml"),
        "{stderr}"
    );

    // A profile sized for development is refused at the line naming it,
    // unless this file gives the big table fewer rows.
    let big = |profile: &str, rows: &str| {
        let project = project_with_property(&format!(
            "name = \"x\"\n\n[data]\nprofile = \"../seeds/big.toml\"\n{rows}\n[[check]]\nexpect = \"accept\"\nsql = \"select 1\"\n"
        ));
        std::fs::create_dir_all(project.path().join("seeds")).unwrap();
        std::fs::write(project.path().join("seeds/big.toml"), profile).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_pgharness"))
            .args(["check", "--only", "properties"])
            .current_dir(project.path())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let cycles = "default_rows = 0\n\n[tables.cycle]\nrows = 20000\n";
    let (code, stderr) = big(cycles, "");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("properties/rule.toml:4: [data] profile: ")
            && stderr
                .contains("big.toml: table `cycle`: rows = 20000: at most 10000 rows per table"),
        "{stderr}"
    );
    let (code, stderr) = big(cycles, "rows = { cycle = 2 }");
    assert_eq!(code, Some(0), "{stderr}");
    // So is one whose default_rows is too big, unless the file gives its own.
    let (code, stderr) = big("default_rows = 20000\n", "");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("properties/rule.toml:4: [data] profile: ")
            && stderr.contains("big.toml: default_rows = 20000: at most 10000 rows per table"),
        "{stderr}"
    );
    let (code, stderr) = big(
        "default_rows = 20000\n",
        "rows = { cycle = 2 }\ndefault_rows = 1",
    );
    assert_eq!(code, Some(0), "{stderr}");
}

#[tokio::test]
async fn an_overflow_on_a_value_at_its_type_limit_says_so_and_how_to_bound_it() {
    let project = project_with_property(
        "name = \"a quota can always grow by one\"\n\n[data]\nrows = { cycle = 2, weekly_plan = 12 }\n\n[[check]]\nexpect = \"hold\"\nfor_each = \"select id, quota from weekly_plan\"\nsql = \"select $2::integer + 1 > 0\"\n",
    );
    let r = &only(project.path(), 64, 2, Status::Fail).await;
    let text = evidence(r);
    assert!(text.contains("SQLSTATE 22003"), "{text}");
    assert!(
        text.contains("note: weekly_plan.quota = 2147483647 is the largest integer, and the failure is an overflow (SQLSTATE 22003)")
            && text.contains("[data.tables.\"weekly_plan\".columns.quota] range = [lo, hi]"),
        "{text}"
    );
    // Shrunk to the one plan row and its parents.
    assert!(text.contains("minimal data set (3 rows):"), "{text}");
}

/// Run by `in_a_test_a_failing_property_points_at_the_test_and_replays_from_its_seed`
/// in a child process, on the project `PGHARNESS_TEST_PROJECT`.
#[tokio::test]
#[ignore = "run by the test below, in a child process"]
async fn assert_properties_child() {
    let dir = std::path::PathBuf::from(std::env::var("PGHARNESS_TEST_PROJECT").unwrap());
    let harness = pgharness::testing::harness(dir.join("pgharness.toml"))
        .await
        .unwrap();
    pgharness::assert_properties!(harness, Some(32));
}

#[test]
fn in_a_test_a_failing_property_points_at_the_test_and_replays_from_its_seed() {
    let project = broken_sample(
        "0005_goal.up.sql",
        "  updated_at  timestamptz not null default now(),\n  constraint goal_one_kind_per_cycle unique (cycle_id, kind)\n",
        "  updated_at  timestamptz not null default now()\n",
        "goal_unique.toml",
    );
    let run = |seed: Option<&str>| {
        let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
        cmd.args(["--ignored", "--exact", "assert_properties_child"])
            .env("PGHARNESS_TEST_PROJECT", project.path());
        match seed {
            Some(seed) => cmd.env("PGHARNESS_SEED", seed),
            None => cmd.env_remove("PGHARNESS_SEED"),
        };
        let out = cmd.output().unwrap();
        assert!(!out.status.success(), "the broken rule fails the test");
        // The regression file would replay the case whatever the seed.
        let _ = std::fs::remove_file(
            project
                .path()
                .join("properties/goal_unique.proptest-regressions"),
        );
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
    };
    let first = run(None);
    assert!(
        first.contains("panicked at tests/constraint_properties.rs:"),
        "the panic points at the test, not pgharness' source:\n{first}"
    );
    let seed = first
        .split("PGHARNESS_SEED=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no seed to replay with:\n{first}"))
        .to_string();
    let case = |text: &str| {
        let at = text
            .find("minimal data set")
            .unwrap_or_else(|| panic!("{text}"));
        text[at..].lines().take(6).collect::<Vec<_>>().join("\n")
    };
    let replayed = run(Some(&seed));
    assert!(
        replayed.contains(&format!("PGHARNESS_SEED={seed} ")),
        "{replayed}"
    );
    assert_eq!(
        case(&first),
        case(&replayed),
        "the same seed, the same case"
    );
}

#[tokio::test]
async fn an_accept_checks_rows_run_at_once_and_the_first_failing_row_is_named() {
    // Rows largest first: the first row passes, every later one fails with
    // an error naming its own id. The rows run in one round trip; the
    // failure must be the second row's (its own `$2 = 'f'` and its own id
    // in the error), never a neighbour's.
    let project = project_with_property(
        "name = \"only the largest cycle\"\n\n[data]\nrows = { cycle = 4 }\n\n[[check]]\nexpect = \"accept\"\nfor_each = \"select id, id = (select max(id) from cycle) from cycle order by id desc\"\nsql = \"select case when $2::bool then 1 else ('not the largest: ' || $1)::int end\"\n\n[[check]]\nexpect = \"hold\"\nsql = \"select true\"\n",
    );
    let r = only(project.path(), 32, 5, Status::Fail).await;
    let text = evidence(&r);
    let row = text
        .split("` with $1 = '")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_else(|| panic!("no row named:\n{text}"));
    assert!(
        text.contains(&format!("$1 = '{row}', $2 = 'f'"))
            && text.contains(&format!("\"not the largest: {row}\"")),
        "the failing row and its own error:\n{text}"
    );
    // With one cycle the only row passes: the verdict is not the batch's.
    let one = project_with_property(
        "name = \"only the largest cycle\"\n\n[data]\nrows = { cycle = 1 }\n\n[[check]]\nexpect = \"accept\"\nfor_each = \"select id, id = (select max(id) from cycle) from cycle order by id desc\"\nsql = \"select case when $2::bool then 1 else ('not the largest: ' || $1)::int end\"\n",
    );
    only(one.path(), 16, 5, Status::Pass).await;
}

#[tokio::test]
async fn a_check_the_server_will_not_prepare_runs_as_text_with_the_verdict_of_its_text() {
    // Checks run prepared (PREPARE once per connection, EXECUTE per row)
    // where the server takes them. It refuses these: `$1` unused (no type
    // to infer for it) and a DO block (a utility statement). They run as
    // text with the row's values as literals.
    let holds = project_with_property(
        "name = \"x\"\n\n[data]\nrows = { cycle = 4, goal = 8 }\n\n[[check]]\nexpect = \"reject\"\nfor_each = \"select cycle_id, kind from goal\"\nsql = \"insert into goal (cycle_id, kind, title) select cycle_id, kind, 'again' from goal where kind = $2 limit 1\"\nsqlstate = \"23505\"\n\n[[check]]\nexpect = \"accept\"\nfor_each = \"select id from cycle\"\nsql = \"do $$ begin perform 1; end $$\"\n",
    );
    let r = only(holds.path(), 32, 7, Status::Pass).await;
    assert!(
        !r.message.contains(": 0"),
        "both checks exercised: {}",
        r.message
    );
    // A rule that does not hold, in a statement that runs as text: caught,
    // with the row's value in the statement's place.
    let broken = project_with_property(
        "name = \"x\"\n\n[data]\nrows = { cycle = 4, goal = 8 }\n\n[[check]]\nexpect = \"reject\"\nfor_each = \"select cycle_id, kind from goal\"\nsql = \"select $2::text\"\n",
    );
    let r = only(broken.path(), 32, 7, Status::Fail).await;
    let text = evidence(&r);
    assert!(
        text.contains("`select $2::text` with $1 = ")
            && text.contains("succeeded, but the rule says it must fail"),
        "{text}"
    );
}

#[tokio::test]
async fn a_data_set_that_does_not_load_is_named_as_such_not_as_the_check_it_went_with() {
    // The data set goes with the first check's first round trip: a nick
    // trusted past its CHECK fails the load, and the failure says so.
    let project = person_project(&format!(
        "name = \"x\"\n\n[data]\nrows = {{ person = 3 }}\n\n[data.tables.person]\nassume_checks = [\"person_nick_check\"]\n\n[data.tables.person.columns.nick]\nvalues = [\"no-prefix\"]\n\n{PERSON_CHECK}"
    ));
    let r = only(project.path(), 8, 3, Status::Fail).await;
    let text = evidence(&r);
    assert!(
        text.contains("the generated data set did not load")
            && text.contains("person_nick_check")
            && !text.contains("for_each failed"),
        "{text}"
    );
}
