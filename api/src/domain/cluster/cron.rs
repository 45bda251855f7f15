//! Validation of the five-field cron schedules PGO turns into backup CronJobs.
//!
//! Accepts what the Kubernetes CronJob controller (robfig/cron standard parser) accepts in the
//! five-field form: `*`, numbers, ranges `a-b`, steps `*/n`, `a-b/n`, `a/n`, comma lists, and
//! three-letter month and weekday names. Macros (`@daily`) and time-zone prefixes (`TZ=`) are
//! refused: the schedule runs in the controller's time zone (UTC on managed Kubernetes).

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MONTHS: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
    },
    Field {
        name: "day of month",
        min: 1,
        max: 31,
        names: &[],
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: MONTHS,
    },
    // 7 is Sunday as well as 0, as in Vixie cron.
    Field {
        name: "day of week",
        min: 0,
        max: 7,
        names: WEEKDAYS,
    },
];

/// Checks that `expr` is a valid five-field cron expression.
pub(super) fn validate(expr: &str) -> Result<(), String> {
    let parts: Vec<&str> = expr.split_whitespace().collect();
    if parts.len() != FIELDS.len() {
        return Err(format!(
            "`{expr}` must have 5 fields (minute hour day-of-month month day-of-week), found {}",
            parts.len()
        ));
    }
    for (part, field) in parts.iter().zip(FIELDS.iter()) {
        for item in part.split(',') {
            validate_item(item, field).map_err(|why| format!("`{expr}`: {} {why}", field.name))?;
        }
    }
    Ok(())
}

/// Whether the minute field of a valid `expr` is one fixed number, i.e. the schedule fires at
/// most once an hour. Backups more frequent than that would never finish before the next.
pub(super) fn fires_at_most_hourly(expr: &str) -> bool {
    expr.split_whitespace()
        .next()
        .is_some_and(|minute| !minute.is_empty() && minute.bytes().all(|b| b.is_ascii_digit()))
}

fn validate_item(item: &str, field: &Field) -> Result<(), String> {
    let (range, step) = match item.split_once('/') {
        Some((range, step)) => (range, Some(step)),
        None => (item, None),
    };
    let (low, high) = match range {
        "*" => (field.min, field.max),
        _ => match range.split_once('-') {
            Some((a, b)) => (value(a, field)?, value(b, field)?),
            None => {
                let v = value(range, field)?;
                // `a/n` means "from a to the end in steps of n".
                (v, if step.is_some() { field.max } else { v })
            }
        },
    };
    if low > high {
        return Err(format!("range `{range}` runs backwards"));
    }
    if let Some(step) = step {
        let n: u32 = step
            .parse()
            .map_err(|_| format!("step `{step}` is not a number"))?;
        if n == 0 || n > field.max - field.min + 1 {
            return Err(format!("step `{step}` is out of range"));
        }
    }
    Ok(())
}

fn value(text: &str, field: &Field) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    if let Some(index) = field.names.iter().position(|name| *name == lower) {
        let index = u32::try_from(index).map_err(|_| format!("`{text}` is not valid"))?;
        return Ok(field.min + index);
    }
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) || text.len() > 2 {
        return Err(format!("`{text}` is not a number or a known name"));
    }
    let v: u32 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if v < field.min || v > field.max {
        return Err(format!("`{v}` is outside {}-{}", field.min, field.max));
    }
    Ok(v)
}

/// The values one valid field item allows.
fn expand_item(item: &str, field: &Field) -> Result<Vec<u32>, String> {
    let (range, step) = match item.split_once('/') {
        Some((range, step)) => (range, step.parse::<u32>().map_err(|e| e.to_string())?),
        None => (item, 1),
    };
    let (low, high) = match range {
        "*" => (field.min, field.max),
        _ => match range.split_once('-') {
            Some((a, b)) => (value(a, field)?, value(b, field)?),
            None => {
                let v = value(range, field)?;
                (v, if item.contains('/') { field.max } else { v })
            }
        },
    };
    Ok((low..=high).step_by(step.max(1) as usize).collect())
}

/// A valid schedule, parsed: which minutes, hours, days and months it fires on.
struct Schedule {
    sets: Vec<Vec<bool>>,
    day_of_month_any: bool,
    day_of_week_any: bool,
}

impl Schedule {
    fn parse(expr: &str) -> Option<Schedule> {
        validate(expr).ok()?;
        let parts: Vec<&str> = expr.split_whitespace().collect();
        let mut sets: Vec<Vec<bool>> = Vec::new();
        for (part, field) in parts.iter().zip(FIELDS.iter()) {
            let mut allowed = vec![false; field.max as usize + 1];
            for item in part.split(',') {
                for v in expand_item(item, field).ok()? {
                    allowed[v as usize] = true;
                }
            }
            sets.push(allowed);
        }
        if sets[4][7] {
            sets[4][0] = true; // 7 is Sunday too
        }
        Some(Schedule {
            sets,
            day_of_month_any: parts[2] == "*",
            day_of_week_any: parts[4] == "*",
        })
    }

    fn fires_on(&self, date: chrono::NaiveDate) -> bool {
        use chrono::Datelike;
        let (dom, dow) = (
            self.sets[2][date.day() as usize],
            self.sets[4][date.weekday().num_days_from_sunday() as usize],
        );
        // Vixie cron: when both day fields are restricted, either may match.
        let day_matches = match (self.day_of_month_any, self.day_of_week_any) {
            (true, true) => true,
            (true, false) => dow,
            (false, true) => dom,
            (false, false) => dom || dow,
        };
        day_matches && self.sets[3][date.month() as usize]
    }

    fn fires_at(&self, at: chrono::NaiveDateTime) -> bool {
        use chrono::Timelike;
        self.fires_on(at.date())
            && self.sets[1][at.hour() as usize]
            && self.sets[0][at.minute() as usize]
    }
}

/// The longest time between two consecutive runs of a valid schedule, over a year (UTC): how
/// old the newest backup may be before it is overdue. `None` for an invalid expression.
pub fn longest_gap(expr: &str) -> Option<chrono::Duration> {
    use chrono::{Duration, NaiveDate};
    let schedule = Schedule::parse(expr)?;
    let start = NaiveDate::from_ymd_opt(2025, 1, 1)?.and_hms_opt(0, 0, 0)?;
    let mut fires = Vec::new();
    for day in 0..(365 + 31) {
        let date = start + Duration::days(day);
        if !schedule.fires_on(date.date()) {
            continue;
        }
        for hour in (0..24).filter(|h| schedule.sets[1][*h]) {
            for minute in (0..60).filter(|m| schedule.sets[0][*m]) {
                fires.push(date + Duration::minutes((hour * 60 + minute) as i64));
            }
        }
    }
    fires.windows(2).map(|w| w[1] - w[0]).max()
}

/// The latest minute in `(after, until]` at which a valid `expr` fires (UTC), looking back
/// at most a day from `until` (a run missed longer ago is not made up, as a CronJob's
/// starting deadline would have passed). `None` for an invalid expression.
pub fn fired_between(
    expr: &str,
    after: chrono::DateTime<chrono::Utc>,
    until: chrono::DateTime<chrono::Utc>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::{Duration, DurationRound};
    let schedule = Schedule::parse(expr)?;
    let floor = after.max(until - Duration::days(1));
    let mut minute = until.duration_trunc(Duration::minutes(1)).ok()?;
    while minute > floor {
        if schedule.fires_at(minute.naive_utc()) {
            return Some(minute);
        }
        minute -= Duration::minutes(1);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_fires_between_two_times_at_its_latest_minute() {
        let at = |t: &str| t.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
        // Sunday 2026-12-06 01:00 fires for "0 1 * * 0"; Monday does not.
        assert_eq!(
            fired_between(
                "0 1 * * 0",
                at("2026-12-06T00:59:30Z"),
                at("2026-12-06T01:00:10Z")
            ),
            Some(at("2026-12-06T01:00:00Z"))
        );
        assert_eq!(
            fired_between(
                "0 1 * * 0",
                at("2026-12-06T01:00:00Z"),
                at("2026-12-06T01:05:00Z")
            ),
            None,
            "a minute already looked at does not fire twice"
        );
        assert_eq!(
            fired_between(
                "0 1 * * 0",
                at("2026-12-07T00:00:00Z"),
                at("2026-12-07T02:00:00Z")
            ),
            None
        );
        assert_eq!(
            fired_between(
                "*/15 * * * *",
                at("2026-12-07T10:01:00Z"),
                at("2026-12-07T10:31:00Z")
            ),
            Some(at("2026-12-07T10:30:00Z"))
        );
        assert_eq!(
            fired_between(
                "0 1 * * 0",
                at("2026-11-01T00:00:00Z"),
                at("2026-12-08T00:00:00Z")
            ),
            None,
            "runs missed more than a day ago are not made up"
        );
        assert_eq!(
            fired_between(
                "nonsense",
                at("2026-12-07T00:00:00Z"),
                at("2026-12-07T01:00:00Z")
            ),
            None
        );
    }

    #[test]
    fn the_longest_gap_follows_the_schedule() {
        let hours = |h: i64| Some(chrono::Duration::hours(h));
        assert_eq!(longest_gap("0 1 * * *"), hours(24));
        assert_eq!(longest_gap("0 1 * * 0"), hours(24 * 7));
        assert_eq!(longest_gap("0 */6 * * *"), hours(6));
        // Monday to Saturday: the gap is Saturday 01:00 to Monday 01:00.
        assert_eq!(longest_gap("0 1 * * 1-6"), hours(48));
        assert_eq!(longest_gap("0 4 1,15 * *"), hours(24 * 17));
        assert_eq!(longest_gap("not cron"), None);
    }

    #[test]
    fn common_backup_schedules_are_valid() {
        for ok in [
            "0 1 * * 0",
            "0 1 * * 1-6",
            "30 2 * * *",
            "0 */6 * * *",
            "0 0 1 * *",
            "15 3 * * mon-fri",
            "0 4 1,15 * *",
            "0 0 * JAN,jul *",
            "0 22 * * 7",
            "0 5/2 * * *",
            "5 1 1-31/2 1-12 0-6",
        ] {
            assert_eq!(validate(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn wrong_field_counts_are_rejected() {
        assert!(validate("0 1 * *").unwrap_err().contains("5 fields"));
        assert!(validate("0 0 1 * * *").unwrap_err().contains("found 6"));
        assert!(validate("").is_err());
    }

    #[test]
    fn out_of_range_values_are_rejected_naming_the_field() {
        assert!(validate("60 1 * * *").unwrap_err().contains("minute"));
        assert!(validate("0 24 * * *").unwrap_err().contains("hour"));
        assert!(validate("0 1 0 * *").unwrap_err().contains("day of month"));
        assert!(validate("0 1 32 * *").unwrap_err().contains("day of month"));
        assert!(validate("0 1 * 13 *").unwrap_err().contains("month"));
        assert!(validate("0 1 * * 8").unwrap_err().contains("day of week"));
    }

    #[test]
    fn malformed_ranges_steps_and_lists_are_rejected() {
        for bad in [
            "0 5-1 * * *",
            "*/0 1 * * *",
            "*/61 1 * * *",
            "0 1 * * 1-",
            "0 1 ,1 * *",
            "0 1 * * x",
            "0 1 ? * *",
            "0 1 * * */a",
            "@daily 1 2 3 4",
            "0 001 * * *",
        ] {
            assert!(validate(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn macros_and_time_zone_prefixes_are_rejected() {
        assert!(validate("@daily").is_err());
        assert!(validate("TZ=UTC 0 1 * * *").is_err());
    }

    #[test]
    fn only_a_fixed_minute_counts_as_at_most_hourly() {
        assert!(fires_at_most_hourly("0 1 * * *"));
        assert!(fires_at_most_hourly("30 */2 * * *"));
        assert!(!fires_at_most_hourly("* 1 * * *"));
        assert!(!fires_at_most_hourly("*/15 * * * *"));
        assert!(!fires_at_most_hourly("0,30 * * * *"));
        assert!(!fires_at_most_hourly("0-5 * * * *"));
    }
}
