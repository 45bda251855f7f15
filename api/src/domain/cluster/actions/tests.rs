use serde_json::json;
use uuid::Uuid;

use super::*;

fn spec(document: serde_json::Value) -> ClusterSpec {
    ClusterSpec::from_json(&document).expect("a valid cluster")
}

fn facts<'a>(spec: &'a ClusterSpec, phase: &'a str) -> ClusterFacts<'a> {
    ClusterFacts {
        spec,
        phase: Phase::parse(phase).expect("a phase"),
        active_operation: None,
        has_full_backup: true,
        image: None,
        newest_image: Some("registry/postgres:17.6".into()),
    }
}

fn refused(result: Result<(), Refusal>) -> String {
    result.expect_err("refused").reason()
}

#[test]
fn a_ready_cluster_with_backups_allows_every_day2_action_but_resume_and_promote() {
    let spec = spec(json!({"name": "orders", "instances": 2, "postgres_version": 17}));
    let allowed = allowed_actions(&facts(&spec, "ready"));
    for (action, allowance) in [
        ("update", &allowed.update),
        ("scale", &allowed.scale),
        ("backup", &allowed.backup),
        ("restore", &allowed.restore),
        ("clone", &allowed.clone),
        ("switchover", &allowed.switchover),
        ("upgrade", &allowed.upgrade),
        ("minor_upgrade", &allowed.minor_upgrade),
        ("rotate_password", &allowed.rotate_password),
        ("extensions", &allowed.extensions),
        ("create_standby", &allowed.create_standby),
        ("suspend", &allowed.suspend),
    ] {
        assert_eq!(allowance, &Allowance::YES, "{action}");
    }
    assert!(!allowed.resume.allowed);
    assert!(
        allowed
            .promote
            .reason
            .as_deref()
            .unwrap()
            .contains("not a standby")
    );
    assert_eq!(
        allowed.delete,
        Allowance::YES,
        "deletion protection is off by default"
    );
    let protected = self::spec(
        json!({"name": "orders", "instances": 2, "postgres_version": 17, "deletion_protection": true}),
    );
    assert!(
        refused(check(ActionKind::Delete, &facts(&protected, "ready")))
            .contains("deletion_protection on")
    );
}

#[test]
fn a_suspended_cluster_can_be_resumed_changed_and_deleted_but_runs_nothing() {
    let spec = spec(json!({"name": "orders", "suspended": true, "deletion_protection": false}));
    let cluster = facts(&spec, "suspended");
    let allowed = allowed_actions(&cluster);
    assert!(allowed.resume.allowed && allowed.update.allowed && allowed.delete.allowed);
    assert!(!allowed.suspend.allowed);
    assert_eq!(
        refused(check(ActionKind::Backup, &cluster)),
        "cluster `orders` is suspended: resume it before taking a backup"
    );
    assert!(!allowed.rotate_password.allowed && !allowed.switchover.allowed);
}

#[test]
fn a_cluster_not_yet_running_refuses_what_needs_a_running_cluster() {
    let spec = spec(json!({"name": "orders"}));
    let cluster = facts(&spec, "provisioning");
    assert_eq!(
        refused(check(ActionKind::RotatePassword, &cluster)),
        "cluster `orders` is provisioning: rotating a password needs a running cluster"
    );
    assert_eq!(check(ActionKind::Scale, &cluster), Ok(()));
}

#[test]
fn a_standby_refuses_what_writes_and_allows_promote() {
    let spec = spec(json!({"name": "orders-dr", "standby": {"source": "orders"}}));
    let cluster = facts(&spec, "ready");
    let allowed = allowed_actions(&cluster);
    assert!(allowed.promote.allowed);
    for allowance in [
        &allowed.backup,
        &allowed.restore,
        &allowed.switchover,
        &allowed.upgrade,
        &allowed.rotate_password,
        &allowed.extensions,
    ] {
        let reason = allowance.reason.as_deref().expect("refused");
        assert!(reason.contains("is a standby of `orders`"), "{reason}");
    }
    assert!(
        allowed
            .clone
            .reason
            .as_deref()
            .unwrap()
            .contains("clone `orders` instead")
    );
    assert!(
        allowed
            .create_standby
            .reason
            .as_deref()
            .unwrap()
            .contains("itself a standby")
    );
    assert!(allowed.scale.allowed, "a standby's size is its own");
}

#[test]
fn another_operation_refuses_everything_after_the_states_own_reasons() {
    let spec = spec(json!({"name": "orders", "backups": {"enabled": false}}));
    let id = Uuid::now_v7();
    let cluster = ClusterFacts {
        active_operation: Some(ActiveOperation {
            id,
            kind: OperationKind::Update,
            state: OperationState::Running,
        }),
        ..facts(&spec, "ready")
    };
    assert_eq!(
        check(ActionKind::Scale, &cluster),
        Err(Refusal::Busy {
            operation_id: id,
            kind: OperationKind::Update,
            state: OperationState::Running
        })
    );
    // Backups disabled holds until someone changes it: that is the reason given first.
    assert!(refused(check(ActionKind::Backup, &cluster)).contains("backups disabled"));
}

#[test]
fn restore_and_clone_need_a_full_backup() {
    let spec = spec(json!({"name": "orders"}));
    let cluster = ClusterFacts {
        has_full_backup: false,
        ..facts(&spec, "ready")
    };
    assert!(refused(check(ActionKind::Restore, &cluster)).contains("no successful backup"));
    assert!(refused(check(ActionKind::Clone, &cluster)).contains("no successful full backup"));
}

#[test]
fn switchover_needs_a_replica_and_upgrades_need_somewhere_to_go() {
    let single = spec(json!({"name": "orders", "postgres_version": 18}));
    let cluster = facts(&single, "ready");
    assert!(refused(check(ActionKind::Switchover, &cluster)).contains("single instance"));
    assert!(refused(check(ActionKind::Upgrade, &cluster)).contains("newest supported"));
    let pinned = ClusterFacts {
        image: Some("registry/postgres:17.6"),
        ..cluster
    };
    assert!(refused(check(ActionKind::MinorUpgrade, &pinned)).contains("already runs"));
    let no_catalog = ClusterFacts {
        newest_image: None,
        ..cluster
    };
    assert!(refused(check(ActionKind::MinorUpgrade, &no_catalog)).contains("approves no image"));
}

#[test]
fn the_first_reason_given_to_refuse_stays() {
    let spec = spec(json!({"name": "orders"}));
    let mut allowed = allowed_actions(&facts(&spec, "ready"));
    allowed.refuse(ActionKind::Scale, || "first".into());
    allowed.refuse(ActionKind::Scale, || "second".into());
    assert_eq!(allowed.scale, Allowance::refused("first"));
}
