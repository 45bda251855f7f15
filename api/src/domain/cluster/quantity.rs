//! Kubernetes resource quantities ("500m", "1.5", "2Gi", "1G") parsed exactly, with integer
//! arithmetic only, into millicores or bytes.
//!
//! The accepted grammar is a strict subset of the Kubernetes quantity pattern that the PGO CRD
//! enforces, so every string we accept is one the API server accepts too: no sign, no
//! exponent, no sub-milli suffixes. The tenant's string is kept verbatim in the spec (so it
//! round-trips without a diff); these functions only measure it.

const KIB: u128 = 1 << 10;

/// Millicores in `s`, e.g. `"500m"` → 500, `"1.5"` → 1500, `"2"` → 2000.
pub(super) fn parse_cpu_millis(s: &str) -> Result<u64, String> {
    let (value, frac_digits, suffix) = parse_decimal(s)?;
    let multiplier = match suffix {
        "" => 1000,
        "m" => 1,
        "k" => 1_000_000,
        _ => {
            return Err(format!(
                "`{s}` is not a CPU quantity: use cores (\"1\", \"1.5\") or millicores (\"500m\")"
            ));
        }
    };
    let millis = scale(value, frac_digits, multiplier)
        .ok_or_else(|| format!("`{s}` is finer than one millicore"))?;
    u64::try_from(millis).map_err(|_| format!("`{s}` is too large"))
}

/// Bytes in `s`, e.g. `"512Mi"` → 536870912, `"1G"` → 1000000000, `"1.5Gi"`.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let (value, frac_digits, suffix) = parse_decimal(s)?;
    let multiplier: u128 = match suffix {
        "" => 1,
        "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        "P" => 1_000_000_000_000_000,
        "Ki" => KIB,
        "Mi" => KIB.pow(2),
        "Gi" => KIB.pow(3),
        "Ti" => KIB.pow(4),
        "Pi" => KIB.pow(5),
        "m" => {
            return Err(format!(
                "`{s}` means milli-bytes: use `Mi` (mebibytes) or `M` (megabytes)"
            ));
        }
        _ => {
            return Err(format!(
                "`{s}` is not a byte quantity: use a number with Ki, Mi, Gi, Ti or k, M, G, T"
            ));
        }
    };
    let bytes = scale(value, frac_digits, multiplier)
        .ok_or_else(|| format!("`{s}` is not a whole number of bytes"))?;
    u64::try_from(bytes).map_err(|_| format!("`{s}` is too large"))
}

/// `bytes` as a quantity with the largest binary suffix that divides it exactly
/// (`"40Gi"`, `"1536Mi"`), for sizes pgplane derives itself.
pub(super) fn format_bytes(bytes: u64) -> String {
    let bytes = u128::from(bytes);
    for (suffix, unit) in [
        ("Ti", KIB.pow(4)),
        ("Gi", KIB.pow(3)),
        ("Mi", KIB.pow(2)),
        ("Ki", KIB),
    ] {
        if bytes >= unit && bytes % unit == 0 {
            return format!("{}{suffix}", bytes / unit);
        }
    }
    bytes.to_string()
}

/// Splits `s` into its digits as an integer, the number of fraction digits, and the suffix.
fn parse_decimal(s: &str) -> Result<(u128, u32, &str), String> {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(end);
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if number.is_empty() || (int.is_empty() && frac.is_empty()) || frac.contains('.') {
        return Err(format!(
            "`{s}` is not a quantity: expected a number such as \"1\" or \"2Gi\""
        ));
    }
    if int.len() + frac.len() > 18 {
        return Err(format!("`{s}` has too many digits"));
    }
    let digits = format!("{int}{frac}");
    let value = digits
        .parse::<u128>()
        .map_err(|_| format!("`{s}` is not a quantity"))?;
    let frac_digits = u32::try_from(frac.len()).map_err(|_| format!("`{s}` is not a quantity"))?;
    Ok((value, frac_digits, suffix))
}

/// `value / 10^frac_digits * multiplier`, or `None` when that is not a whole number.
fn scale(value: u128, frac_digits: u32, multiplier: u128) -> Option<u128> {
    let scaled = value.checked_mul(multiplier)?;
    let divisor = 10u128.checked_pow(frac_digits)?;
    (scaled % divisor == 0).then_some(scaled / divisor)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MI: u64 = 1 << 20;
    const GI: u64 = 1 << 30;

    #[test]
    fn cpu_accepts_cores_fractions_and_millicores() {
        assert_eq!(parse_cpu_millis("1"), Ok(1000));
        assert_eq!(parse_cpu_millis("1.5"), Ok(1500));
        assert_eq!(parse_cpu_millis("0.25"), Ok(250));
        assert_eq!(parse_cpu_millis(".5"), Ok(500));
        assert_eq!(parse_cpu_millis("500m"), Ok(500));
        assert_eq!(parse_cpu_millis("16"), Ok(16000));
    }

    #[test]
    fn cpu_finer_than_a_millicore_is_rejected() {
        assert!(
            parse_cpu_millis("0.0005")
                .unwrap_err()
                .contains("millicore")
        );
        assert!(parse_cpu_millis("1.5m").is_err());
    }

    #[test]
    fn cpu_with_a_byte_suffix_or_garbage_is_rejected() {
        for bad in [
            "1Gi", "2Mi", "", "m", "-1", "+1", "1e3", "1..5", "one", " 1", "1 ",
        ] {
            assert!(parse_cpu_millis(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn bytes_accept_binary_and_decimal_suffixes() {
        assert_eq!(parse_bytes("512Mi"), Ok(512 * MI));
        assert_eq!(parse_bytes("2Gi"), Ok(2 * GI));
        assert_eq!(parse_bytes("1.5Gi"), Ok(3 * GI / 2));
        assert_eq!(parse_bytes("1G"), Ok(1_000_000_000));
        assert_eq!(parse_bytes("100M"), Ok(100_000_000));
        assert_eq!(parse_bytes("16Ti"), Ok(16 << 40));
        assert_eq!(parse_bytes("1024"), Ok(1024));
        assert_eq!(parse_bytes("1Ki"), Ok(1024));
    }

    #[test]
    fn lowercase_m_for_memory_is_explained() {
        assert!(parse_bytes("512m").unwrap_err().contains("milli"));
    }

    #[test]
    fn fractional_bytes_and_unknown_suffixes_are_rejected() {
        for bad in [
            "1.5", "0.1Ki", "2GB", "2gi", "2 Gi", "Gi", "1e9", "-1Gi", "",
        ] {
            assert!(parse_bytes(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn absurdly_long_numbers_are_rejected_not_overflowed() {
        assert!(parse_bytes("9999999999999999999Pi").is_err());
        assert!(parse_bytes("99999999999Pi").is_err());
    }

    #[test]
    fn formatting_uses_the_largest_exact_binary_suffix() {
        assert_eq!(format_bytes(40 * GI), "40Gi");
        assert_eq!(format_bytes(1536 * MI), "1536Mi");
        assert_eq!(format_bytes(2 << 40), "2Ti");
        assert_eq!(format_bytes(1000), "1000");
        assert_eq!(format_bytes(2_000_000_000), "1953125Ki");
    }
}
