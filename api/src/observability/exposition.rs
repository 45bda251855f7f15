//! Pieces of the Prometheus text format for the series written straight into `/metrics`.

use std::fmt::Write;

/// The `# HELP` and `# TYPE` lines of a gauge family.
pub fn family(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
}

/// The `tenant` and `cluster` labels of a per-cluster series.
pub fn cluster_labels(tenant: &str, cluster: &str) -> String {
    format!(
        "tenant=\"{}\",cluster=\"{}\"",
        escape(tenant),
        escape(cluster)
    )
}

/// Label value escaping of the text format (names are DNS labels, but the format is the rule).
pub fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
