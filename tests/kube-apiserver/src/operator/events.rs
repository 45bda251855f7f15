//! The core/v1 Events PGO's `postgrescluster-controller` records on a PostgresCluster (named
//! `<cluster>.<hex nanoseconds>`, like client-go's recorder; each distinct reason and message
//! once per cluster, without client-go's aggregation of repeats).

use serde_json::{Value, json};

use super::children::Cluster;
use super::sim::Event;
use crate::resources::PGO_GROUP;

/// The `source.component` of PGO's PostgresCluster Events.
pub const EVENT_SOURCE: &str = "postgrescluster-controller";

pub(crate) fn event(c: &Cluster<'_>, e: &Event, now: &str, nanos: u128) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": { "name": format!("{}.{nanos:x}", c.name), "namespace": c.namespace },
        "involvedObject": {
            "apiVersion": format!("{PGO_GROUP}/v1beta1"),
            "kind": "PostgresCluster",
            "name": c.name,
            "namespace": c.namespace,
            "uid": c.uid,
            "resourceVersion": crate::meta::meta_str(c.object, "resourceVersion").unwrap_or(""),
        },
        "reason": e.reason,
        "message": e.message,
        "type": if e.warning { "Warning" } else { "Normal" },
        "source": { "component": EVENT_SOURCE },
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "reportingComponent": EVENT_SOURCE,
        "reportingInstance": "",
    })
}
