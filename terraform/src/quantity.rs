//! Kubernetes quantities (`500m`, `1.5`, `2Gi`, `2048Mi`), compared by value so that a size the
//! API writes its own way (`2048Mi` back as `2Gi`) is not a change.

/// The quantity in thousandths of its unit (`1` is 1000, `500m` is 500, `1Ki` is 1_024_000).
pub fn millis(text: &str) -> Option<u128> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    // The number in thousandths, then scaled by the suffix.
    let fraction3 = format!("{fraction:0<3}");
    if fraction3.len() > 3 && fraction3[3..].chars().any(|c| c != '0') {
        return None; // finer than a thousandth: not a quantity the API takes
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let thousandths: u128 = fraction3[..3].parse().ok()?;
    let base = whole.checked_mul(1000)?.checked_add(thousandths)?;
    let scale: u128 = match suffix {
        "" => 1000,
        "m" => 1,
        "k" => 1000 * 1000,
        "M" => 1000 * 1_000_000,
        "G" => 1000 * 1_000_000_000,
        "T" => 1000 * 1_000_000_000_000,
        "Ki" => 1000 * (1 << 10),
        "Mi" => 1000 * (1 << 20),
        "Gi" => 1000 * (1 << 30),
        "Ti" => 1000 * (1 << 40),
        "Pi" => 1000 * (1 << 50),
        _ => return None,
    };
    base.checked_mul(scale)?.checked_div(1000)
}

/// Whether two quantities are the same amount.
pub fn same(a: &str, b: &str) -> bool {
    a == b || matches!((millis(a), millis(b)), (Some(x), Some(y)) if x == y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_amount_written_two_ways_is_the_same() {
        assert!(same("2Gi", "2048Mi"));
        assert!(same("1", "1000m"));
        assert!(same("0.5", "500m"));
        assert!(same("1.5", "1500m"));
        assert!(!same("2Gi", "2G"));
        assert!(!same("1", "2"));
    }

    #[test]
    fn what_is_not_a_quantity_is_refused() {
        assert_eq!(millis("two"), None);
        assert_eq!(millis("1Xi"), None);
        assert_eq!(millis(""), None);
        assert_eq!(millis("0.0001"), None);
        assert_eq!(millis("250m"), Some(250));
        assert_eq!(millis("1Ki"), Some(1_024_000));
    }
}
