use serde_json::json;

use super::tests::{accepts, create, error_fields, with};

#[test]
fn name_longer_than_pgo_allows_is_rejected() {
    let name = "a".repeat(38);
    let errors = create(json!({ "name": name, "database": "db", "owner": "app" })).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, "name");
    assert!(errors[0].message.contains("37"));
    accepts(json!({ "name": "a".repeat(37) }));
}

#[test]
fn invalid_names_are_rejected() {
    for bad in ["Orders", "1orders", "orders-", "or_ders", ""] {
        assert!(
            error_fields(json!({ "name": bad, "database": "db", "owner": "app" })) == ["name"],
            "{bad}"
        );
    }
}

#[test]
fn postgres_versions_outside_what_we_support_are_rejected() {
    for ok in [15, 16, 17, 18] {
        assert_eq!(
            accepts(with("postgres_version", json!(ok))).postgres_version,
            ok
        );
    }
    for bad in [11, 14, 19] {
        assert_eq!(
            error_fields(with("postgres_version", json!(bad))),
            ["postgres_version"]
        );
    }
    assert_eq!(
        error_fields(with("postgres_version", json!(-1))),
        ["postgres_version"]
    );
}

#[test]
fn instances_must_be_one_to_three() {
    for ok in [1, 2, 3] {
        accepts(with("instances", json!(ok)));
    }
    for bad in [0, 4, 10] {
        assert_eq!(error_fields(with("instances", json!(bad))), ["instances"]);
    }
}

#[test]
fn cpu_must_be_a_quantity_within_bounds() {
    for ok in ["250m", "0.25", "1", "1.5", "16", "16000m"] {
        accepts(with("resources", json!({ "cpu": ok })));
    }
    for bad in ["249m", "0.2", "16001m", "17", "1Gi", "lots", ""] {
        assert_eq!(
            error_fields(with("resources", json!({ "cpu": bad }))),
            ["resources.cpu"],
            "{bad}"
        );
    }
}

#[test]
fn memory_must_be_a_quantity_within_bounds() {
    for ok in ["512Mi", "1G", "2Gi", "1.5Gi", "128Gi"] {
        accepts(with("resources", json!({ "memory": ok })));
    }
    for bad in ["511Mi", "129Gi", "512m", "2GB", "536870911"] {
        let fields = error_fields(with("resources", json!({ "memory": bad })));
        assert_eq!(fields, ["resources.memory"], "{bad}");
    }
}

#[test]
fn partial_resources_keep_the_other_default() {
    let spec = accepts(with("resources", json!({ "memory": "4Gi" })));
    assert_eq!(
        (spec.resources.cpu.as_str(), spec.resources.memory.as_str()),
        ("1", "4Gi")
    );
}

#[test]
fn storage_size_and_class_are_checked() {
    for ok in ["1Gi", "20Gi", "1.5Ti", "16Ti"] {
        accepts(with("storage", json!({ "size": ok })));
    }
    for bad in ["1023Mi", "17Ti", "20gb", "-1Gi"] {
        assert_eq!(
            error_fields(with("storage", json!({ "size": bad }))),
            ["storage.size"],
            "{bad}"
        );
    }
    assert_eq!(
        accepts(with("storage", json!({ "class": "fast-ssd" })))
            .storage
            .class
            .as_deref(),
        Some("fast-ssd")
    );
    assert_eq!(
        accepts(with("storage", json!({ "class": null })))
            .storage
            .class,
        None
    );
    assert_eq!(
        error_fields(with("storage", json!({ "class": "Fast_SSD" }))),
        ["storage.class"]
    );
}

#[test]
fn given_schedules_replace_the_default_set() {
    let spec = accepts(with(
        "backups",
        json!({ "schedules": { "full": "0 2 * * *" } }),
    ));
    let schedules = spec.backups.schedules;
    assert_eq!(schedules.full.as_deref(), Some("0 2 * * *"));
    assert_eq!(
        (schedules.differential, schedules.incremental),
        (None, None)
    );
}

#[test]
fn invalid_or_too_frequent_schedules_are_rejected_by_path() {
    let fields = error_fields(with(
        "backups",
        json!({ "schedules": { "full": "0 1 * *", "differential": "*/5 * * * *", "incremental": "0 25 * * *" } }),
    ));
    assert_eq!(
        fields,
        [
            "backups.schedules.full",
            "backups.schedules.differential",
            "backups.schedules.incremental"
        ]
    );
}

#[test]
fn a_full_schedule_is_required_only_while_backups_are_enabled() {
    let no_full = json!({ "schedules": { "incremental": "0 1 * * *" } });
    assert_eq!(
        error_fields(with("backups", no_full.clone())),
        ["backups.schedules.full"]
    );
    let mut disabled = no_full;
    disabled["enabled"] = json!(false);
    accepts(with("backups", disabled));
}

#[test]
fn retention_must_be_one_to_thirty_full_backups() {
    for ok in [1, 4, 30] {
        accepts(with("backups", json!({ "retention_full": ok })));
    }
    for bad in [0, 31] {
        assert_eq!(
            error_fields(with("backups", json!({ "retention_full": bad }))),
            ["backups.retention_full"]
        );
    }
}

#[test]
fn pooler_replicas_must_be_one_to_three() {
    for ok in [1, 3] {
        accepts(with("pooler", json!({ "enabled": true, "replicas": ok })));
    }
    for bad in [0, 4] {
        assert_eq!(
            error_fields(with("pooler", json!({ "enabled": true, "replicas": bad }))),
            ["pooler.replicas"]
        );
    }
}

#[test]
fn database_and_owner_default_to_the_name_and_are_checked() {
    let spec = accepts(json!({ "name": "shop-eu" }));
    assert_eq!(
        (spec.database.as_str(), spec.owner.as_str()),
        ("shop-eu", "shop-eu")
    );
    assert_eq!(
        error_fields(with("database", json!("pg_orders"))),
        ["database"]
    );
    assert_eq!(
        error_fields(with("database", json!("template1"))),
        ["database"]
    );
    assert_eq!(error_fields(with("owner", json!("app_owner"))), ["owner"]);
    assert_eq!(error_fields(with("owner", json!("postgres"))), ["owner"]);
}

#[test]
fn a_cluster_named_postgres_needs_an_explicit_database_and_owner() {
    assert_eq!(
        error_fields(json!({ "name": "postgres" })),
        ["database", "owner"]
    );
    accepts(json!({ "name": "postgres", "database": "app", "owner": "app" }));
}

#[test]
fn extra_users_are_checked_one_by_one() {
    let fields = error_fields(with(
        "users",
        json!([
            { "name": "reporting", "databases": ["orders", "reports"], "options": "NOLOGIN" },
            { "name": "orders" },
            { "name": "Bad_Name" },
            { "name": "etl", "databases": ["pg_x", "etl", "etl"] },
            { "name": "admin", "options": "SUPERUSER" },
            { "name": "reporting" }
        ]),
    ));
    assert_eq!(
        fields,
        [
            "users[1].name",
            "users[2].name",
            "users[3].databases[0]",
            "users[3].databases[2]",
            "users[4].options",
            "users[5].name"
        ]
    );
}

#[test]
fn at_most_sixty_four_users_including_the_owner() {
    let users = |n: usize| {
        json!(
            (0..n)
                .map(|i| json!({ "name": format!("u{i}") }))
                .collect::<Vec<_>>()
        )
    };
    accepts(with("users", users(63)));
    assert_eq!(error_fields(with("users", users(64))), ["users"]);
}

#[test]
fn two_backup_kinds_on_the_same_schedule_are_rejected() {
    let same = json!({ "schedules": { "full": "0 1 * * *", "incremental": "0 1 * * *" } });
    assert_eq!(
        error_fields(with("backups", same)),
        ["backups.schedules.incremental"]
    );
}
