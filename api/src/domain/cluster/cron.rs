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

#[cfg(test)]
mod tests {
    use super::*;

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
