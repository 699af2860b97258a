//! Nothing here: the fixture is its tests (`tests/pgharness_tests.rs`,
//! `tests/sqlx_tests.rs`).
