//! Property-based fuzzing of what reads user files: the chain reader on
//! generated directories (names close to every tool's naming, contents of
//! SQL fragments, comments, quotes, psql meta-commands and raw bytes) and
//! the statement splitter on generated scripts. Neither may panic; the
//! reader either reads a chain or refuses with an input error (exit 2).

use proptest::prelude::*;

use pgharness::chain::{discover, LayoutChoice};
use pgharness::statement::split;

/// File names near what the tools accept, and some far from it.
fn file_name() -> impl Strategy<Value = String> {
    let version = prop_oneof![
        "[0-9]{1,4}",
        "[0-9]{14}",
        "[0-9]{20}",
        "V[0-9]{1,3}(\\.[0-9])?",
        "R",
        "U[0-9]",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{6}",
        "[a-zA-Z0-9]{0,3}",
    ];
    let sep = prop_oneof!["_", "__", "-", ""];
    let desc = "[a-z_]{0,8}";
    let ext = prop_oneof![
        ".up.sql",
        ".down.sql",
        ".sql",
        ".UP.SQL",
        "/up.sql",
        "/down.sql",
        ".md",
        "",
        "/metadata.toml",
    ];
    (version, sep, desc, ext).prop_map(|(v, s, d, e)| format!("{v}{s}{d}{e}"))
}

/// Script contents: SQL pieces, comments, quotes left open, dollar quotes,
/// psql meta-commands, COPY data, BOMs and arbitrary bytes.
fn content() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just("create table t (id int);\n".to_string()),
        Just("-- migrate:up\n".to_string()),
        Just("-- migrate:down\n".to_string()),
        Just("-- no-transaction\n".to_string()),
        Just("begin;\n".to_string()),
        Just("commit;\n".to_string()),
        Just("do $$ begin perform 1; end $$;\n".to_string()),
        Just("$tag$ unclosed".to_string()),
        Just("'unclosed".to_string()),
        Just("/* unclosed".to_string()),
        Just("E'\\\\''".to_string()),
        Just("\\echo hi\n".to_string()),
        Just("\\i other.sql\n".to_string()),
        Just("\\gexec\n".to_string()),
        Just("copy t from stdin;\n1\n\\.\n".to_string()),
        Just("copy t from stdin;\n1\n".to_string()),
        Just("\u{feff}".to_string()),
        Just(";;;\n".to_string()),
        "[ -~\n]{0,40}",
    ];
    let text = prop::collection::vec(piece, 0..8).prop_map(|p| p.concat().into_bytes());
    prop_oneof![
        4 => text,
        1 => prop::collection::vec(any::<u8>(), 0..64),
    ]
}

fn layout() -> impl Strategy<Value = LayoutChoice> {
    prop_oneof![
        4 => Just(LayoutChoice::Auto),
        1 => Just("sqlx".parse().unwrap()),
        1 => Just("diesel".parse().unwrap()),
        1 => Just("dbmate".parse().unwrap()),
        1 => Just("flyway".parse().unwrap()),
        1 => Just("supabase".parse().unwrap()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_chain_reader_reads_or_refuses_any_directory(
        files in prop::collection::vec((file_name(), content()), 0..6),
        layout in layout(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in &files {
            let path = dir.path().join(name);
            if let Some(parent) = path.parent() {
                if std::fs::create_dir_all(parent).is_err() {
                    continue;
                }
            }
            let _ = std::fs::write(&path, bytes);
        }
        match discover(dir.path(), layout) {
            Ok(chain) => {
                prop_assert!(!chain.migrations.is_empty());
                for m in &chain.migrations {
                    prop_assert!(!m.up.sql.trim().is_empty());
                }
            }
            Err(e) => {
                let e = pgharness::Error::from(e);
                prop_assert_eq!(e.exit_code(), 2, "{}", e);
                prop_assert!(!e.to_string().contains('\n'), "not one line: {}", e);
            }
        }
    }

    #[test]
    fn the_splitter_cuts_any_script_into_pieces_of_it(script in content()) {
        let text = String::from_utf8_lossy(&script).into_owned();
        let statements = split(&text);
        let mut last = 0;
        for s in &statements {
            prop_assert!(s.start >= last, "statements out of order");
            prop_assert!(text[s.start..].starts_with(s.text), "not a piece of the script");
            last = s.start;
        }
    }
}
