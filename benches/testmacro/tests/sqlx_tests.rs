//! The same eight tests with the real `#[sqlx::test]`: each test creates a
//! database on the server `DATABASE_URL` names and runs the sample chain's
//! migrations into it. The bench starts that server and creates the roles
//! the sample's bootstrap makes (`pgharness.toml`, `server.bootstrap`).

use sqlx::PgPool;

#[sqlx::test(migrations = "../../migrations")]
async fn t1(pool: PgPool) {
    sqlx::query("select 1").execute(&pool).await.unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn t2(pool: PgPool) {
    sqlx::query("select 1").execute(&pool).await.unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn t3(pool: PgPool) {
    sqlx::query("select 1").execute(&pool).await.unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn t4(pool: PgPool) {
    sqlx::query("select 1").execute(&pool).await.unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn t5(pool: PgPool) {
    sqlx::query("select 1").execute(&pool).await.unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn t6(pool: PgPool) {
    sqlx::query("select 1").execute(&pool).await.unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn t7(pool: PgPool) {
    sqlx::query("select 1").execute(&pool).await.unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn t8(pool: PgPool) {
    sqlx::query("select 1").execute(&pool).await.unwrap();
}
