//! Stored first responses for `Idempotency-Key` writes. A key is claimed before the request runs
//! (so two concurrent retries cannot both execute), completed with the response, or released
//! when the request failed on our side so that a retry can run again.

use sqlx::PgPool;

use super::StoreResult;

/// How long a key is remembered, in hours.
const RETENTION_HOURS: i32 = 24;

/// A response as stored for replay.
#[derive(Debug, Clone)]
pub struct StoredResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What claiming a key found.
#[derive(Debug)]
pub enum Claim {
    /// First use: run the request, then `complete` or `release`.
    New,
    /// Same key, same request, finished: replay this.
    Replay(StoredResponse),
    /// Same key, different request.
    Mismatch,
    /// Same key, same request, still running.
    InFlight,
}

/// Claims `key` for a request. A claim still in flight after `abandoned_after` (longer than
/// any request may run) was abandoned: its request timed out, or the database went away before
/// the claim could be completed or released. It is taken over, so that a client retrying with
/// the same key gets an answer instead of "still being processed" for a day.
pub async fn claim(
    pool: &PgPool,
    scope: &[u8],
    key: &str,
    request_hash: &[u8],
    abandoned_after: std::time::Duration,
) -> StoreResult<Claim> {
    // Forget expired and abandoned keys of this scope first, so they can be reused.
    sqlx::query(
        "delete from idempotency_keys where scope = $1 and key = $2
         and (created_at < now() - make_interval(hours => $3)
              or (status_code is null and created_at < now() - make_interval(secs => $4)))",
    )
    .bind(scope)
    .bind(key)
    .bind(RETENTION_HOURS)
    .bind(abandoned_after.as_secs_f64())
    .execute(pool)
    .await?;
    let inserted = sqlx::query(
        "insert into idempotency_keys (scope, key, request_hash) values ($1, $2, $3)
         on conflict do nothing",
    )
    .bind(scope)
    .bind(key)
    .bind(request_hash)
    .execute(pool)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Claim::New);
    }
    let (stored_hash, status, headers, body): (Vec<u8>, Option<i32>, Option<serde_json::Value>, Option<Vec<u8>>) =
        sqlx::query_as(
            "select request_hash, status_code, headers, body from idempotency_keys where scope = $1 and key = $2",
        )
        .bind(scope)
        .bind(key)
        .fetch_one(pool)
        .await?;
    if stored_hash != request_hash {
        return Ok(Claim::Mismatch);
    }
    let Some(status) = status else {
        return Ok(Claim::InFlight);
    };
    let headers = headers
        .and_then(|h| serde_json::from_value::<Vec<(String, String)>>(h).ok())
        .unwrap_or_default();
    Ok(Claim::Replay(StoredResponse {
        status: status as u16,
        headers,
        body: body.unwrap_or_default(),
    }))
}

pub async fn complete(
    pool: &PgPool,
    scope: &[u8],
    key: &str,
    response: &StoredResponse,
) -> StoreResult<()> {
    sqlx::query(
        "update idempotency_keys set status_code = $3, headers = $4, body = $5 where scope = $1 and key = $2",
    )
    .bind(scope)
    .bind(key)
    .bind(i32::from(response.status))
    .bind(serde_json::to_value(&response.headers).unwrap_or_default())
    .bind(&response.body)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn release(pool: &PgPool, scope: &[u8], key: &str) -> StoreResult<()> {
    sqlx::query("delete from idempotency_keys where scope = $1 and key = $2")
        .bind(scope)
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}
