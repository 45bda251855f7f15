//! Kubernetes resource quantities as numbers (`20Gi`, `500M`, `1.5e3`, `250m`), for the
//! comparisons admission and the simulated storage make (f64 is precise enough for sizes).

/// The value of quantity `s`, or `None` when it is not one.
pub(crate) fn value(s: &str) -> Option<f64> {
    let s = s.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '+' | '-')))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(end);
    let number: f64 = number.parse().ok()?;
    let scale = match suffix {
        "" => 1.0,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        exponent => {
            let exponent = exponent.strip_prefix(['e', 'E'])?;
            10f64.powi(exponent.parse().ok()?)
        }
    };
    Some(number * scale)
}

#[cfg(test)]
mod tests {
    use super::value;

    #[test]
    fn suffixes_scale_the_number() {
        assert_eq!(value("20Gi"), Some(20.0 * 1024f64.powi(3)));
        assert_eq!(value("30720Mi"), value("30Gi"));
        assert_eq!(value("1e3"), Some(1000.0));
        assert_eq!(value("1k"), Some(1000.0));
        assert_eq!(value("250m"), Some(0.25));
        assert_eq!(value("lots"), None);
        assert_eq!(value("1GB"), None);
    }
}
