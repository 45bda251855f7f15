//! String `format`s that the apiserver checks in CRD schemas (`date-time`, `duration`, `byte`,
//! and the integer formats when they appear on strings). Unknown formats are accepted, as
//! kube-openapi does for formats it has no checker for.

use base64::Engine;

/// Whether `s` satisfies `format`.
pub(crate) fn string_format_ok(format: &str, s: &str) -> bool {
    match format {
        "date-time" => chrono::DateTime::parse_from_rfc3339(s).is_ok(),
        "date" => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok(),
        "duration" => is_duration(s),
        "byte" => base64::engine::general_purpose::STANDARD.decode(s).is_ok(),
        _ => true,
    }
}

/// Go `time.ParseDuration` syntax plus the `d`/`w` units accepted by strfmt (`1h30m`, `200ms`).
fn is_duration(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    if s == "0" {
        return true;
    }
    crate::meta::regex(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h|d|w))+$").is_some_and(|r| r.is_match(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_follow_go_syntax() {
        for ok in ["0", "5m", "1h30m", "200ms", "1.5h", "8760h"] {
            assert!(string_format_ok("duration", ok), "{ok}");
        }
        for bad in ["", "5", "m5", "1 hour", "abc"] {
            assert!(!string_format_ok("duration", bad), "{bad}");
        }
    }

    #[test]
    fn date_times_are_rfc3339() {
        assert!(string_format_ok("date-time", "2024-01-02T03:04:05Z"));
        assert!(!string_format_ok("date-time", "yesterday"));
    }
}
