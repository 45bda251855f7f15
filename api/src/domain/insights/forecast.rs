//! When storage fills: a least-squares line through the databases' total size over the
//! snapshots of the window, extended to the volume's size.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::snapshot::Taken;

/// Storage now, its growth, and when it is full at that rate.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Forecast {
    pub bytes_now: i64,
    pub capacity_bytes: i64,
    /// Growth per day over the window (negative when it shrinks).
    pub bytes_per_day: f64,
    /// Days until `capacity_bytes` is reached; null when storage does not grow.
    pub days_left: Option<f64>,
    pub full_at: Option<DateTime<Utc>>,
    /// The points the line was fitted to: `[taken_at, bytes]`.
    pub points: Vec<StoragePoint>,
}

impl Forecast {
    /// How long the growth was measured over.
    pub fn span(&self) -> std::time::Duration {
        match (self.points.first(), self.points.last()) {
            (Some(first), Some(last)) => (last.taken_at - first.taken_at)
                .to_std()
                .unwrap_or_default(),
            _ => std::time::Duration::ZERO,
        }
    }
}

/// The databases' size at one snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StoragePoint {
    pub taken_at: DateTime<Utc>,
    pub bytes: i64,
}

/// The databases' total size at each of `history`'s snapshots.
pub fn points_of(history: &[Taken]) -> Vec<StoragePoint> {
    history
        .iter()
        .map(|t| StoragePoint {
            taken_at: t.taken_at,
            bytes: t.snapshot.databases.iter().map(|d| d.bytes).sum(),
        })
        .collect()
}

/// The forecast from `points` (oldest first), or `None` with fewer than two.
pub fn storage_forecast(points: Vec<StoragePoint>, capacity_bytes: i64) -> Option<Forecast> {
    let (first, last) = (points.first()?, points.last()?);
    if points.len() < 2 || last.taken_at <= first.taken_at {
        return None;
    }
    let xs: Vec<f64> = points
        .iter()
        .map(|p| (p.taken_at - first.taken_at).num_milliseconds() as f64 / 1000.0)
        .collect();
    let ys: Vec<f64> = points.iter().map(|p| p.bytes as f64).collect();
    let n = xs.len() as f64;
    let (mean_x, mean_y) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let covariance: f64 = xs
        .iter()
        .zip(&ys)
        .map(|(x, y)| (x - mean_x) * (y - mean_y))
        .sum();
    let variance: f64 = xs.iter().map(|x| (x - mean_x).powi(2)).sum();
    if variance <= 0.0 {
        return None;
    }
    let per_second = covariance / variance;
    let bytes_now = last.bytes;
    let days_left = (per_second > 0.0)
        .then(|| (capacity_bytes - bytes_now).max(0) as f64 / per_second / 86400.0);
    let full_at = days_left.and_then(|days| {
        let millis = (days * 86_400_000.0).min(1e15) as i64;
        last.taken_at
            .checked_add_signed(chrono::Duration::milliseconds(millis))
    });
    Some(Forecast {
        bytes_now,
        capacity_bytes,
        bytes_per_day: per_second * 86400.0,
        days_left,
        full_at,
        points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::insights::snapshot::{Database, Snapshot};

    fn taken(seconds: i64, bytes: i64) -> Taken {
        let start = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        Taken {
            taken_at: start + chrono::Duration::seconds(seconds),
            snapshot: Snapshot {
                databases: vec![Database {
                    name: "app".into(),
                    bytes,
                    ..Database::default()
                }],
                ..Snapshot::default()
            },
        }
    }

    #[test]
    fn a_steady_growth_fills_the_volume_when_the_line_says() {
        // 1 GiB a day, 10 GiB used of 20: ten days left.
        let gib = 1_i64 << 30;
        let history: Vec<Taken> = (0..5)
            .map(|h| taken(h * 3600, 10 * gib + gib * h / 24))
            .collect();
        let f = storage_forecast(points_of(&history), 20 * gib).unwrap();
        assert!(
            (f.bytes_per_day - gib as f64).abs() < 1e3,
            "{}",
            f.bytes_per_day
        );
        let expected = (20 * gib - f.bytes_now) as f64 / gib as f64;
        assert!((f.days_left.unwrap() - expected).abs() < 1e-6);
        assert_eq!(f.points.len(), 5);
    }

    #[test]
    fn no_growth_or_one_snapshot_forecasts_nothing() {
        assert_eq!(storage_forecast(points_of(&[taken(0, 100)]), 1000), None);
        let flat = storage_forecast(points_of(&[taken(0, 100), taken(60, 100)]), 1000).unwrap();
        assert_eq!(flat.days_left, None);
        assert_eq!(flat.full_at, None);
    }
}
