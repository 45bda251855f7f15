//! WATCH: a newline-delimited JSON stream of `ADDED`/`MODIFIED`/`DELETED`/`BOOKMARK`/`ERROR`
//! events, from a resourceVersion or with initial events (legacy `resourceVersion=""`/`"0"`
//! semantics, or `sendInitialEvents=true` ending with the `k8s.io/initial-events-end`
//! bookmark). Label and field selectors are applied to both the old and new state of each
//! change, so an object that stops matching is reported `DELETED`, like the watch cache does.
//! A start point older than the retained history is answered with an `ERROR` event carrying a
//! 410 Expired `Status`, as the apiserver does, and so is a watcher that falls that far behind.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::App;
use super::path::Target;
use super::query::Query;
use crate::error::ApiError;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{EventType, StoredEvent, TooOld};

fn line(ty: &str, object: &Value) -> Bytes {
    let mut s = json!({ "type": ty, "object": object }).to_string();
    s.push('\n');
    Bytes::from(s)
}

fn bookmark(t: &Target, rv: u64, initial_end: bool) -> Bytes {
    let mut metadata = json!({ "resourceVersion": rv.to_string() });
    if initial_end {
        metadata["annotations"] = json!({ "k8s.io/initial-events-end": "true" });
    }
    line(
        "BOOKMARK",
        &json!({ "apiVersion": t.def.api_version(), "kind": t.def.kind, "metadata": metadata }),
    )
}

fn expired(rv: u64, oldest: u64) -> Bytes {
    line(
        "ERROR",
        &ApiError::expired(format!("too old resource version: {rv} ({oldest})")).to_status_json(),
    )
}

/// Filters one stored event for this watch; returns the event type to send, if any.
fn translate(
    t: &Target,
    labels: &LabelSelector,
    fields: &FieldSelector,
    e: &StoredEvent,
) -> Option<&'static str> {
    if e.key.res != t.def.key() || t.namespace.as_deref().is_some_and(|ns| e.key.ns != ns) {
        return None;
    }
    let matches = |v: &Value| labels.matches(v) && fields.matches(v);
    let now = matches(&e.object);
    let before = e.prev.as_deref().is_some_and(matches);
    match (e.ty, before, now) {
        (EventType::Deleted, true, _) => Some("DELETED"),
        (EventType::Deleted, false, _) => None,
        (_, true, true) => Some(e.ty.as_str()),
        (_, false, true) => Some("ADDED"),
        (_, true, false) => Some("DELETED"),
        (_, false, false) => None,
    }
}

fn validate(q: &Query) -> Result<(), ApiError> {
    if q.send_initial_events.is_some() {
        if q.resource_version_match.as_deref() != Some("NotOlderThan") {
            return Err(ApiError::bad_request(
                "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            ));
        }
        if q.send_initial_events == Some(true) && !q.allow_watch_bookmarks {
            return Err(ApiError::bad_request(
                "allowWatchBookmarks: Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true",
            ));
        }
    } else if q.resource_version_match.is_some() {
        return Err(ApiError::bad_request(
            "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
        ));
    }
    Ok(())
}

fn stream_response(rx: mpsc::Receiver<Bytes>) -> Response {
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<Bytes, Infallible>(b), rx))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// Starts a watch; the stream runs on its own task until timeout, client disconnect, an
/// injected drop, or server shutdown.
pub(crate) fn watch(
    app: &App,
    t: &Target,
    q: &Query,
    expire_now: bool,
) -> Result<Response, ApiError> {
    validate(q)?;
    let labels = LabelSelector::parse(&q.label_selector)?;
    let fields = FieldSelector::parse(&q.field_selector, t.def)?;
    let (tx, rx) = mpsc::channel::<Bytes>(1024);
    let requested = q.resource_version_number()?;
    let mut first: Vec<Bytes> = Vec::new();
    let (current, compacted) = app.store.read(|s| (s.rv(), s.compacted()));
    if expire_now {
        first.push(expired(requested.unwrap_or(current), current));
    } else if let Some(rv) = requested.filter(|rv| *rv < compacted) {
        first.push(expired(rv, compacted));
    }
    let start = if first.is_empty() {
        let initial = q.send_initial_events.unwrap_or(requested.is_none());
        if initial {
            let (at, objects) = super::read::select(app, t, None, &labels, &fields)?;
            first.extend(objects.values().map(|o| line("ADDED", o)));
            if q.send_initial_events == Some(true) {
                first.push(bookmark(t, at, true));
            }
            Some(at)
        } else {
            Some(requested.unwrap_or(current))
        }
    } else {
        None
    };
    let app = app.clone();
    let t = t.clone();
    let bookmarks = q.allow_watch_bookmarks;
    let deadline = q
        .timeout_seconds
        .map(|s| Instant::now() + Duration::from_secs(s));
    tokio::spawn(async move {
        for b in first {
            if tx.send(b).await.is_err() {
                return;
            }
        }
        let Some(mut last) = start else { return };
        let mut changes = app.store.subscribe();
        let dropped = app.faults.watch_drop_token();
        let mut tick = tokio::time::interval(app.options.bookmark_interval);
        tick.tick().await;
        loop {
            changes.borrow_and_update();
            let batch = app
                .store
                .read(|s| s.events_after(last).map(|e| (e, s.rv())));
            match batch {
                Err(TooOld { oldest }) => {
                    let _ = tx.send(expired(last, oldest)).await;
                    return;
                }
                Ok((events, now)) => {
                    for e in events {
                        if let Some(ty) = translate(&t, &labels, &fields, &e)
                            && tx.send(line(ty, &e.object)).await.is_err()
                        {
                            return;
                        }
                    }
                    last = last.max(now);
                }
            }
            let timeout = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                _ = tick.tick(), if bookmarks => {
                    if tx.send(bookmark(&t, last, false)).await.is_err() {
                        return;
                    }
                }
                _ = timeout => return,
                _ = dropped.cancelled() => return,
                _ = app.shutdown.cancelled() => return,
                _ = tx.closed() => return,
            }
        }
    });
    Ok(stream_response(rx))
}
