//! Eight trivial tests, each on a fresh database at the head of the sample
//! chain from `#[pgharness::test]` (the repository's `pgharness.toml`: its
//! chain and bootstrap; the server is the project's shared local one).

use sqlx::PgPool;

#[pgharness::test(config = "../../pgharness.toml")]
async fn t1(pool: PgPool) {
    sqlx::query("select 1").execute(&pool).await.unwrap();
}

#[pgharness::test(config = "../../pgharness.toml")]
async fn t2(pool: PgPool) {
    sqlx::query("select 1").execute(&pool).await.unwrap();
}

#[pgharness::test(config = "../../pgharness.toml")]
async fn t3(pool: PgPool) {
    sqlx::query("select 1").execute(&pool).await.unwrap();
}

#[pgharness::test(config = "../../pgharness.toml")]
async fn t4(pool: PgPool) {
    sqlx::query("select 1").execute(&pool).await.unwrap();
}

#[pgharness::test(config = "../../pgharness.toml")]
async fn t5(pool: PgPool) {
    sqlx::query("select 1").execute(&pool).await.unwrap();
}

#[pgharness::test(config = "../../pgharness.toml")]
async fn t6(pool: PgPool) {
    sqlx::query("select 1").execute(&pool).await.unwrap();
}

#[pgharness::test(config = "../../pgharness.toml")]
async fn t7(pool: PgPool) {
    sqlx::query("select 1").execute(&pool).await.unwrap();
}

#[pgharness::test(config = "../../pgharness.toml")]
async fn t8(pool: PgPool) {
    sqlx::query("select 1").execute(&pool).await.unwrap();
}
