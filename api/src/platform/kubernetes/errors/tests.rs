use kube::core::response::{StatusCause, StatusDetails};

use super::*;

fn status(code: u16, reason: &str, message: &str) -> Status {
    Status::failure(message, reason).with_code(code)
}

fn api(s: Status) -> kube::Error {
    kube::Error::Api(Box::new(s))
}

fn is_transient(e: &PlatformError) -> bool {
    matches!(e, PlatformError::Transient(_))
}

#[test]
fn an_invalid_object_is_rejected_with_its_message_and_causes() {
    let s = status(
        422,
        "Invalid",
        "PostgresCluster.postgres-operator.crunchydata.com \"orders\" is invalid: spec.postgresVersion: Invalid value: 5",
    )
    .with_details(StatusDetails {
        causes: vec![
            StatusCause {
                reason: "FieldValueInvalid".into(),
                message: "Invalid value: 5".into(),
                field: "spec.postgresVersion".into(),
            },
            StatusCause {
                reason: "FieldValueRequired".into(),
                message: "Required value".into(),
                field: "spec.instances".into(),
            },
        ],
        ..details()
    });
    let PlatformError::Rejected(text) = classify(&api(s)) else {
        panic!("422 must be rejected")
    };
    assert!(text.starts_with("422 Invalid: PostgresCluster"), "{text}");
    assert!(
        text.ends_with("[spec.instances: Required value]"),
        "the cause not in the message is appended once: {text}"
    );
}

fn details() -> StatusDetails {
    StatusDetails {
        name: String::new(),
        group: String::new(),
        kind: String::new(),
        uid: String::new(),
        causes: Vec::new(),
        retry_after_seconds: 0,
    }
}

#[test]
fn forbidden_and_bad_requests_are_rejected() {
    for (code, reason) in [
        (403, "Forbidden"),
        (400, "BadRequest"),
        (405, "MethodNotAllowed"),
        (413, "RequestEntityTooLarge"),
        (415, "UnsupportedMediaType"),
    ] {
        let e = classify(&api(status(code, reason, "no")));
        assert!(matches!(e, PlatformError::Rejected(_)), "{code}: {e:?}");
    }
}

#[test]
fn a_terminating_namespace_or_a_quota_held_by_deleting_objects_is_transient() {
    let terminating = status(
        403,
        "Forbidden",
        "postgresclusters \"orders\" is forbidden: unable to create new content in namespace pgplane-acme because it is being terminated",
    );
    assert!(is_transient(&classify(&api(terminating))));
    let by_cause = status(403, "Forbidden", "forbidden").with_details(StatusDetails {
        causes: vec![StatusCause {
            reason: "NamespaceTerminating".into(),
            message: String::new(),
            field: "metadata.namespace".into(),
        }],
        ..details()
    });
    assert!(is_transient(&classify(&api(by_cause))));
    let quota = status(
        403,
        "Forbidden",
        "postgresclusters \"b\" is forbidden: exceeded quota: pgplane-tenant-quota",
    );
    assert!(is_transient(&classify(&api(quota))));
}

#[test]
fn not_found_conflicts_expiry_throttling_and_server_errors_are_transient() {
    for (code, reason) in [
        (401, "Unauthorized"),
        (404, "NotFound"),
        (409, "Conflict"),
        (410, "Expired"),
        (429, "TooManyRequests"),
        (500, "InternalError"),
        (503, "ServiceUnavailable"),
        (504, "Timeout"),
    ] {
        let e = classify(&api(status(code, reason, "later")));
        assert!(is_transient(&e), "{code}: {e:?}");
    }
}

#[test]
fn throttling_reports_the_advised_wait() {
    let s = status(429, "TooManyRequests", "slow down").with_details(StatusDetails {
        retry_after_seconds: 3,
        ..details()
    });
    let PlatformError::Transient(text) = classify(&api(s)) else {
        panic!("429 is transient")
    };
    assert_eq!(text, "429 TooManyRequests: slow down (retry after 3s)");
}

#[test]
fn connection_and_stream_errors_are_transient_and_request_defects_are_rejected() {
    let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
    assert!(is_transient(&classify(&kube::Error::ReadEvents(io))));
    let timeout: tower::BoxError = Box::new(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "deadline has elapsed",
    ));
    assert!(is_transient(&classify(&kube::Error::Service(timeout))));
    let decode = serde_json::from_str::<u8>("<html>").unwrap_err();
    assert!(is_transient(&classify(&kube::Error::SerdeError(decode))));
    let build = axum::http::Request::builder()
        .uri("http://[::1")
        .body(())
        .unwrap_err();
    assert!(matches!(
        classify(&kube::Error::HttpError(build)),
        PlatformError::Rejected(_)
    ));
}

#[test]
fn a_quota_whose_usage_is_not_counted_yet_is_waited_for_not_given_up_on() {
    // What a real kube-apiserver answers for the first PostgresCluster after the PGO CRDs
    // were installed, until its quota controller has counted the new resource.
    let error = api(status(
        403,
        "Forbidden",
        "postgresclusters.postgres-operator.crunchydata.com \"orders\" is forbidden: status unknown for quota: pgplane-tenant-quota, resources: count/postgresclusters.postgres-operator.crunchydata.com",
    ));
    assert!(
        matches!(classify(&error), PlatformError::NotYet(_)),
        "{:?}",
        classify(&error)
    );
    assert!(quota_status_unknown(&error));
    let exceeded = api(status(
        403,
        "Forbidden",
        "exceeded quota: pgplane-tenant-quota, requested: count/postgresclusters.postgres-operator.crunchydata.com=1",
    ));
    assert!(!quota_status_unknown(&exceeded));
}

#[test]
fn a_server_side_apply_of_a_field_the_schema_lacks_is_rejected_not_retried() {
    let error = api(status(
        500,
        "",
        "failed to create typed patch object (pgplane-acme/orders; postgres-operator.crunchydata.com/v1beta1, Kind=PostgresCluster): .spec.bogus: field not declared in schema",
    ));
    assert!(matches!(classify(&error), PlatformError::Rejected(_)));
    assert!(is_transient(&classify(&api(status(
        500,
        "InternalError",
        "etcdserver: leader changed"
    )))));
}
