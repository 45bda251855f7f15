use serde_json::{Value, json};

use super::*;
use crate::platform::kubernetes::watch::observe::tests::{cluster, replicas_service, secret};

fn observed_facts(events: &[PlatformEvent]) -> Vec<ConnectionFacts> {
    events
        .iter()
        .filter_map(|e| match e {
            PlatformEvent::Observed(o) => Some(o.connection.clone()),
            _ => None,
        })
        .collect()
}

fn user_secret(password: &str) -> Secret {
    let mut s = secret(
        "orders-pguser-app",
        &[("host", "h"), ("port", "5432"), ("password", password)],
    );
    s.metadata.labels = Some(
        [(PGO_ROLE.to_string(), PGO_ROLE_PGUSER.to_string())]
            .into_iter()
            .collect(),
    );
    s
}

#[test]
fn every_cluster_event_is_reported_and_a_relist_ends_in_resynced() {
    let mut state = WatchState::default();
    assert!(state.on_cluster(Event::Init).is_empty());
    let events = state.on_cluster(Event::InitApply(cluster(1, Value::Null)));
    assert!(matches!(events.as_slice(), [PlatformEvent::Observed(_)]));
    let events = state.on_cluster(Event::InitDone);
    assert!(matches!(events.as_slice(), [PlatformEvent::Resynced]));
    let events = state.on_cluster(Event::Apply(cluster(1, json!({ "observedGeneration": 1 }))));
    let [PlatformEvent::Observed(o)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert!(o.caught_up);
}

#[test]
fn a_deleted_cluster_is_gone() {
    let mut state = WatchState::default();
    state.on_cluster(Event::Apply(cluster(1, Value::Null)));
    let events = state.on_cluster(Event::Delete(cluster(1, Value::Null)));
    assert!(matches!(events.as_slice(), [PlatformEvent::Gone { .. }]));
}

#[test]
fn a_cluster_missing_from_a_relist_is_gone_before_resynced() {
    let mut state = WatchState::default();
    state.on_cluster(Event::Apply(cluster(1, Value::Null)));
    state.on_cluster(Event::Init);
    let events = state.on_cluster(Event::InitDone);
    assert!(
        matches!(
            events.as_slice(),
            [PlatformEvent::Gone { .. }, PlatformEvent::Resynced]
        ),
        "{events:?}"
    );
}

#[test]
fn a_changed_secret_re_reports_the_cluster_only_when_its_facts_change() {
    let mut state = WatchState::default();
    state.on_cluster(Event::Apply(cluster(1, Value::Null)));
    let events = state.on_secret(Event::Apply(user_secret("one")));
    assert_eq!(observed_facts(&events)[0].password.as_deref(), Some("one"));
    assert!(
        state.on_secret(Event::Apply(user_secret("one"))).is_empty(),
        "same facts"
    );
    let events = state.on_secret(Event::Apply(user_secret("two")));
    assert_eq!(observed_facts(&events)[0].password.as_deref(), Some("two"));
    let events = state.on_service(Event::Apply(replicas_service()));
    assert!(observed_facts(&events)[0].replicas.is_some());
}

#[test]
fn secrets_that_carry_no_connection_facts_are_not_kept() {
    let mut state = WatchState::default();
    state.on_cluster(Event::Apply(cluster(1, Value::Null)));
    let unrelated = secret("orders-pguser-app", &[("password", "x")]);
    assert!(state.on_secret(Event::Apply(unrelated)).is_empty());
}

#[test]
fn a_cluster_seen_after_its_secrets_reports_them_at_once() {
    let mut state = WatchState::default();
    state.on_secret(Event::Init);
    state.on_secret(Event::InitApply(user_secret("one")));
    state.on_secret(Event::InitDone);
    assert_eq!(state.children_ready(), (true, false));
    let events = state.on_cluster(Event::Apply(cluster(1, Value::Null)));
    assert_eq!(observed_facts(&events)[0].password.as_deref(), Some("one"));
}
