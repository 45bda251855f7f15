//! Name rules. Tenant names become Kubernetes namespaces, so they are DNS-1123 labels.

/// Longest DNS-1123 label.
pub const DNS_LABEL_MAX: usize = 63;

/// Why `name` is not a DNS-1123 label (lowercase alphanumerics and `-`, 1-63 characters,
/// starting and ending with an alphanumeric), if it is not.
pub fn dns1123_label_error(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("must not be empty".into());
    }
    if name.len() > DNS_LABEL_MAX {
        return Some(format!("must be at most {DNS_LABEL_MAX} characters"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Some("must consist of lowercase letters, digits and '-'".into());
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Some("must start and end with a letter or digit".into());
    }
    None
}

/// Why `email` is not a plausible address, if it is not. Deliverability is not our concern;
/// the shape is, so that typos like a missing `@` are caught early.
pub fn email_error(email: &str) -> Option<String> {
    let Some((local, domain)) = email.split_once('@') else {
        return Some("must contain '@'".into());
    };
    if email.len() > 254 {
        return Some("must be at most 254 characters".into());
    }
    if local.is_empty() || domain.is_empty() || domain.contains('@') {
        return Some("must look like name@example.com".into());
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("must not contain whitespace".into());
    }
    None
}

/// Why a human display name is unacceptable, if it is.
pub fn display_name_error(name: &str) -> Option<String> {
    let chars = name.trim().chars().count();
    if chars == 0 {
        return Some("must not be blank".into());
    }
    if chars > 200 {
        return Some("must be at most 200 characters".into());
    }
    if name.chars().any(char::is_control) {
        return Some("must not contain control characters".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels_follow_rfc_1123() {
        for ok in ["a", "acme", "acme-2", "0abc", &"a".repeat(63)] {
            assert_eq!(dns1123_label_error(ok), None, "{ok}");
        }
        for bad in [
            "",
            "Acme",
            "-acme",
            "acme-",
            "ac_me",
            "ac.me",
            &"a".repeat(64),
            "ünï",
        ] {
            assert!(dns1123_label_error(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn emails_need_one_at_and_no_spaces() {
        assert_eq!(email_error("dba@example.com"), None);
        for bad in ["", "no-at", "@x", "x@", "a@b@c", "a b@c.d"] {
            assert!(email_error(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn display_names_are_not_blank_or_huge() {
        assert_eq!(display_name_error("Acme Inc."), None);
        assert!(display_name_error("   ").is_some());
        assert!(display_name_error(&"x".repeat(201)).is_some());
        assert!(display_name_error("a\u{0}b").is_some());
    }
}
