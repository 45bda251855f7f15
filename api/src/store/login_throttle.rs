//! Failed-login counters per account and per client address, in the database so that every
//! replica enforces the same limit.

use std::time::Duration;

use sqlx::PgPool;

use super::StoreResult;

/// Seconds until every one of `keys` may try again, if any of them is blocked.
pub async fn blocked_for(pool: &PgPool, keys: &[String]) -> StoreResult<Option<Duration>> {
    let seconds: Option<f64> = sqlx::query_scalar(
        "select max(extract(epoch from blocked_until - now()))::float8 from login_throttle
         where key = any($1) and blocked_until > now()",
    )
    .bind(keys)
    .fetch_one(pool)
    .await?;
    Ok(seconds.map(|s| Duration::from_secs(s.ceil().max(1.0) as u64)))
}

/// Counts one failure against `key`; after `max_failures` within `window` the key is blocked
/// for `window`.
pub async fn record_failure(
    pool: &PgPool,
    key: &str,
    max_failures: u32,
    window: Duration,
) -> StoreResult<()> {
    let window_secs = window.as_secs_f64();
    sqlx::query(
        "insert into login_throttle as t (key, failures, window_start, blocked_until)
         values ($1, 1, now(), case when 1 >= $2 then now() + make_interval(secs => $3) end)
         on conflict (key) do update set
           failures = case when t.window_start < now() - make_interval(secs => $3) then 1 else t.failures + 1 end,
           window_start = case when t.window_start < now() - make_interval(secs => $3) then now() else t.window_start end,
           blocked_until = case
             when (case when t.window_start < now() - make_interval(secs => $3) then 1 else t.failures + 1 end) >= $2
             then now() + make_interval(secs => $3) else t.blocked_until end",
    )
    .bind(key)
    .bind(max_failures as i32)
    .bind(window_secs)
    .execute(pool)
    .await?;
    Ok(())
}

/// Forgets the failures of `key` (after a successful login to that account).
pub async fn reset(pool: &PgPool, key: &str) -> StoreResult<()> {
    sqlx::query("delete from login_throttle where key = $1")
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}
