//! Top statements over a window: the difference of `pg_stat_statements`' counters between the
//! window's oldest and newest snapshots, never the totals since the last reset. A statement
//! missing from the oldest snapshot ran only within the window; one whose counters went down
//! was reset, and its newest figures are what ran since.

use serde::{Deserialize, Serialize};

use super::snapshot::{Statement, Taken};

/// How statements are ranked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatementOrder {
    #[default]
    TotalTime,
    MeanTime,
    Calls,
    /// Blocks read from outside shared buffers.
    Io,
}

/// One statement's figures over the window.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StatementStats {
    pub queryid: i64,
    pub database: String,
    pub user: String,
    /// Normalised text (constants replaced by `$1`, `$2`, …).
    pub query: String,
    pub calls: i64,
    pub total_ms: f64,
    pub mean_ms: f64,
    pub rows: i64,
    pub blocks_read: i64,
    /// Share of its blocks found in shared buffers (null without block reads or hits).
    pub cache_hit_ratio: Option<f64>,
}

fn same(a: &Statement, b: &Statement) -> bool {
    a.queryid == b.queryid && a.database == b.database && a.user == b.user
}

/// The statements that ran in the window from `oldest` to `newest`, ranked by `order`.
pub fn top_statements(
    oldest: &Taken,
    newest: &Taken,
    order: StatementOrder,
) -> Vec<StatementStats> {
    let mut out: Vec<StatementStats> = newest
        .snapshot
        .statements
        .iter()
        .filter_map(|now| {
            let then = oldest.snapshot.statements.iter().find(|s| same(s, now));
            let delta = match then {
                Some(then) if now.calls >= then.calls => Statement {
                    calls: now.calls - then.calls,
                    total_ms: (now.total_ms - then.total_ms).max(0.0),
                    rows: (now.rows - then.rows).max(0),
                    blocks_read: (now.blocks_read - then.blocks_read).max(0),
                    blocks_hit: (now.blocks_hit - then.blocks_hit).max(0),
                    ..now.clone()
                },
                _ => now.clone(),
            };
            (delta.calls > 0).then(|| stats(&delta))
        })
        .collect();
    let key = |s: &StatementStats| match order {
        StatementOrder::TotalTime => s.total_ms,
        StatementOrder::MeanTime => s.mean_ms,
        StatementOrder::Calls => s.calls as f64,
        StatementOrder::Io => s.blocks_read as f64,
    };
    out.sort_by(|a, b| key(b).total_cmp(&key(a)).then(a.queryid.cmp(&b.queryid)));
    out
}

fn stats(s: &Statement) -> StatementStats {
    let blocks = s.blocks_read + s.blocks_hit;
    StatementStats {
        queryid: s.queryid,
        database: s.database.clone(),
        user: s.user.clone(),
        query: s.query.clone(),
        calls: s.calls,
        total_ms: s.total_ms,
        mean_ms: s.total_ms / s.calls.max(1) as f64,
        rows: s.rows,
        blocks_read: s.blocks_read,
        cache_hit_ratio: (blocks > 0).then(|| s.blocks_hit as f64 / blocks as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::insights::snapshot::Snapshot;
    use chrono::{DateTime, Utc};

    fn statement(queryid: i64, calls: i64, total_ms: f64, read: i64) -> Statement {
        Statement {
            queryid,
            database: "app".into(),
            user: "app".into(),
            query: format!("select {queryid}"),
            calls,
            total_ms,
            rows: calls,
            blocks_read: read,
            blocks_hit: 3 * read,
        }
    }

    fn at(seconds: i64, statements: Vec<Statement>) -> Taken {
        Taken {
            taken_at: DateTime::<Utc>::from_timestamp(1_800_000_000 + seconds, 0).unwrap(),
            snapshot: Snapshot {
                statements,
                ..Snapshot::default()
            },
        }
    }

    #[test]
    fn figures_are_differences_over_the_window_ranked_as_asked() {
        let oldest = at(
            0,
            vec![statement(1, 100, 1000.0, 10), statement(2, 5, 50.0, 0)],
        );
        let newest = at(
            900,
            vec![
                statement(1, 110, 1100.0, 20), // 10 calls, 100 ms in the window
                statement(2, 5, 50.0, 0),      // did not run: left out
                statement(3, 2, 400.0, 500),   // new in the window
            ],
        );
        let by_time = top_statements(&oldest, &newest, StatementOrder::TotalTime);
        let ids: Vec<i64> = by_time.iter().map(|s| s.queryid).collect();
        assert_eq!(ids, [3, 1]);
        assert_eq!((by_time[1].calls, by_time[1].total_ms), (10, 100.0));
        assert_eq!(by_time[0].mean_ms, 200.0);
        assert_eq!(by_time[1].cache_hit_ratio, Some(0.75));
        let by_calls = top_statements(&oldest, &newest, StatementOrder::Calls);
        assert_eq!(by_calls[0].queryid, 1);
        let by_io = top_statements(&oldest, &newest, StatementOrder::Io);
        assert_eq!(by_io[0].queryid, 3);
    }

    #[test]
    fn a_reset_counter_counts_what_ran_since_the_reset() {
        let oldest = at(0, vec![statement(1, 100, 1000.0, 0)]);
        let newest = at(900, vec![statement(1, 7, 70.0, 0)]);
        let top = top_statements(&oldest, &newest, StatementOrder::TotalTime);
        assert_eq!((top[0].calls, top[0].total_ms), (7, 70.0));
    }
}
