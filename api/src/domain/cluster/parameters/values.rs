//! Typed parsing of parameter values as PostgreSQL would read them, restricted to one
//! unambiguous spelling per type: units are mandatory on memory and time values (PostgreSQL
//! would read a bare `4` as 4 × 8kB for `shared_buffers` but 4kB for `work_mem`), booleans are
//! `on`/`off`/`true`/`false`, and only the units PostgreSQL itself knows, case-sensitive.

use super::Kind;

/// Checks `value` against `kind`.
pub(super) fn check(kind: Kind, value: &str) -> Result<(), String> {
    match kind {
        Kind::Integer { min, max } => {
            let n = integer(value).ok_or_else(|| format!("`{value}` is not an integer"))?;
            in_range(
                n,
                min,
                max,
                &n.to_string(),
                &min.to_string(),
                &max.to_string(),
            )
        }
        Kind::Real { min, max } => {
            let x = real(value).ok_or_else(|| format!("`{value}` is not a decimal number"))?;
            if x < min || x > max {
                return Err(format!("`{value}` is outside {min}..={max}"));
            }
            Ok(())
        }
        Kind::Memory {
            min_kb,
            max_kb,
            disable,
        } => {
            if disable && value == "-1" {
                return Ok(());
            }
            let kb = memory_kb(value).ok_or_else(|| {
                format!(
                    "`{value}` is not a memory size: write a whole number with kB, MB, GB or TB"
                )
            })?;
            in_range(
                kb,
                min_kb,
                max_kb,
                value,
                &kb_text(min_kb),
                &kb_text(max_kb),
            )
        }
        Kind::Duration {
            min_ms,
            max_ms,
            disable,
        } => {
            if disable && value == "-1" {
                return Ok(());
            }
            let ms = duration_ms(value).ok_or_else(|| {
                format!("`{value}` is not a duration: write a whole number with ms, s, min, h or d")
            })?;
            in_range(
                ms,
                min_ms,
                max_ms,
                value,
                &ms_text(min_ms),
                &ms_text(max_ms),
            )
        }
        Kind::Bool => match value {
            "on" | "off" | "true" | "false" => Ok(()),
            _ => Err(format!("`{value}` is not a boolean: use on or off")),
        },
        Kind::Enum { values } => {
            if values.contains(&value) {
                Ok(())
            } else {
                Err(format!("`{value}` is not one of: {}", values.join(", ")))
            }
        }
        Kind::Libraries { allowed, required } => libraries(value, allowed, required),
    }
}

/// `value` in kilobytes, for a whole number with a unit (or a bare `0`).
pub(super) fn memory_kb(value: &str) -> Option<i64> {
    if value == "0" {
        return Some(0);
    }
    let (number, unit) = split_unit(value)?;
    let multiplier = match unit {
        "kB" => 1,
        "MB" => 1024,
        "GB" => 1024 * 1024,
        "TB" => 1024 * 1024 * 1024,
        _ => return None,
    };
    number.checked_mul(multiplier)
}

/// `value` in milliseconds, for a whole number with a unit (or a bare `0`).
pub(super) fn duration_ms(value: &str) -> Option<i64> {
    if value == "0" {
        return Some(0);
    }
    let (number, unit) = split_unit(value)?;
    let multiplier = match unit {
        "ms" => 1,
        "s" => 1000,
        "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    number.checked_mul(multiplier)
}

/// The entries of a comma-separated library list, trimmed.
pub(super) fn library_list(value: &str) -> Vec<&str> {
    value.split(',').map(str::trim).collect()
}

fn libraries(value: &str, allowed: &[&str], required: &[&str]) -> Result<(), String> {
    let entries = library_list(value);
    let mut seen: Vec<&str> = Vec::new();
    for entry in &entries {
        if !allowed.contains(entry) {
            return Err(format!("`{entry}` is not one of: {}", allowed.join(", ")));
        }
        if seen.contains(entry) {
            return Err(format!("lists `{entry}` twice"));
        }
        seen.push(entry);
    }
    for needed in required {
        if !entries.contains(needed) {
            return Err(format!("must include `{needed}`"));
        }
    }
    Ok(())
}

fn split_unit(value: &str) -> Option<(i64, &str)> {
    let end = value.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = value.split_at(end);
    if digits.is_empty() || digits.len() > 12 {
        return None;
    }
    Some((digits.parse().ok()?, unit))
}

fn integer(value: &str) -> Option<i64> {
    let digits = value.strip_prefix('-').unwrap_or(value);
    if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

fn real(value: &str) -> Option<f64> {
    let (int, frac) = value.split_once('.').unwrap_or((value, "0"));
    let digits_only =
        |s: &str| !s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits_only(int) || !digits_only(frac) {
        return None;
    }
    value.parse().ok()
}

fn in_range(n: i64, min: i64, max: i64, shown: &str, lo: &str, hi: &str) -> Result<(), String> {
    if n < min || n > max {
        return Err(format!("`{shown}` is outside {lo}..={hi}"));
    }
    Ok(())
}

fn kb_text(kb: i64) -> String {
    for (unit, size) in [("TB", 1 << 30), ("GB", 1 << 20), ("MB", 1 << 10)] {
        if kb >= size && kb % size == 0 {
            return format!("{}{unit}", kb / size);
        }
    }
    format!("{kb}kB")
}

fn ms_text(ms: i64) -> String {
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("min", 60_000),
        ("s", 1000),
    ] {
        if ms >= size && ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}
