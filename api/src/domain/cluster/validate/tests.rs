use super::*;

#[test]
fn dns_1035_cluster_names_are_accepted() {
    for ok in [
        "a",
        "orders",
        "orders-eu-1",
        "x1",
        &"a".repeat(MAX_CLUSTER_NAME_LEN),
    ] {
        assert_eq!(cluster_name(ok), Ok(()), "{ok}");
    }
}

#[test]
fn name_longer_than_pgo_allows_is_rejected() {
    let err = cluster_name(&"a".repeat(MAX_CLUSTER_NAME_LEN + 1)).unwrap_err();
    assert!(err.contains("at most 37"), "{err}");
}

#[test]
fn cluster_names_that_are_not_dns_1035_labels_are_rejected() {
    for bad in [
        "", "1orders", "-orders", "orders-", "Orders", "or_ders", "or.ders", "ordérs",
    ] {
        assert!(cluster_name(bad).is_err(), "{bad:?} should be rejected");
    }
}

#[test]
fn role_names_follow_pgo_users_pattern() {
    for ok in ["app", "app-1", "a", "reporting-ro", &"r".repeat(63)] {
        assert_eq!(role_name(ok), Ok(()), "{ok}");
    }
    for bad in [
        "",
        "App",
        "app_1",
        "1app",
        "app-",
        "-app",
        "a.b",
        &"r".repeat(64),
    ] {
        assert!(role_name(bad).is_err(), "{bad:?} should be rejected");
    }
}

#[test]
fn reserved_role_names_are_rejected() {
    for reserved in [
        "postgres",
        "public",
        "none",
        "all",
        "current-user",
        "session_user",
    ] {
        // `current-user` is fine syntactically; only exact reserved words are refused.
        if reserved == "current-user" {
            assert_eq!(role_name(reserved), Ok(()));
        } else {
            assert!(role_name(reserved).is_err(), "{reserved}");
        }
    }
    assert!(role_name("postgres").unwrap_err().contains("reserved"));
}

#[test]
fn database_names_are_lowercase_identifiers() {
    for ok in ["orders", "orders_2024", "orders-eu", "a", &"d".repeat(63)] {
        assert_eq!(database_name(ok), Ok(()), "{ok}");
    }
    for bad in [
        "",
        "Orders",
        "1orders",
        "_orders",
        "ord ers",
        "ord\"ers",
        &"d".repeat(64),
    ] {
        assert!(database_name(bad).is_err(), "{bad:?} should be rejected");
    }
}

#[test]
fn database_names_starting_with_pg_or_built_in_are_rejected() {
    assert!(database_name("pg_orders").unwrap_err().contains("pg_"));
    for reserved in ["postgres", "template0", "template1"] {
        assert!(
            database_name(reserved).unwrap_err().contains("reserved"),
            "{reserved}"
        );
    }
}

#[test]
fn allowed_role_options_are_accepted_in_any_case() {
    for ok in [
        "",
        "LOGIN",
        "createdb nocreaterole",
        "NOLOGIN NOINHERIT",
        "CONNECTION LIMIT 20",
        "connection limit -1 CREATEDB",
        "NOSUPERUSER NOREPLICATION NOBYPASSRLS",
    ] {
        assert_eq!(role_options(ok), Ok(()), "{ok}");
    }
}

#[test]
fn privileged_role_options_are_rejected() {
    for bad in ["SUPERUSER", "REPLICATION", "BYPASSRLS", "LOGIN superuser"] {
        assert!(
            role_options(bad).unwrap_err().contains("not an allowed"),
            "{bad}"
        );
    }
}

#[test]
fn role_options_follow_pgo_cel_rules() {
    assert!(
        role_options("LOGIN; DROP TABLE x")
            .unwrap_err()
            .contains(';')
    );
    assert!(
        role_options("LOGIN -- hi")
            .unwrap_err()
            .contains("comments")
    );
    assert!(
        role_options("LOGIN /* hi */")
            .unwrap_err()
            .contains("comments")
    );
    assert!(
        role_options("PASSWORD 'x'")
            .unwrap_err()
            .contains("password")
    );
    assert!(
        role_options("encrypted password")
            .unwrap_err()
            .contains("password")
    );
    assert!(
        role_options(&"LOGIN ".repeat(40))
            .unwrap_err()
            .contains("200")
    );
}

#[test]
fn conflicting_or_repeated_role_options_are_rejected() {
    assert!(
        role_options("LOGIN NOLOGIN")
            .unwrap_err()
            .contains("more than once")
    );
    assert!(role_options("CONNECTION LIMIT 1 CONNECTION LIMIT 2").is_err());
}

#[test]
fn connection_limit_needs_a_number_in_range() {
    for bad in [
        "CONNECTION",
        "CONNECTION LIMIT",
        "CONNECTION LIMIT x",
        "CONNECTION LIMIT 10001",
    ] {
        assert!(
            role_options(bad).unwrap_err().contains("CONNECTION LIMIT"),
            "{bad}"
        );
    }
}

#[test]
fn storage_classes_are_dns_subdomains() {
    for ok in ["standard", "gp3", "fast-ssd", "ebs.csi.aws.com", "a"] {
        assert_eq!(storage_class(ok), Ok(()), "{ok}");
    }
    for bad in [
        "",
        "Fast",
        "fast_ssd",
        "-fast",
        "fast.",
        ".fast",
        "a..b",
        &"a".repeat(254),
    ] {
        assert!(storage_class(bad).is_err(), "{bad:?} should be rejected");
    }
}
