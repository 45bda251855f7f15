//! A platform driver's watch as the Kubernetes test tiers read it: the driver streams
//! [`PlatformEvent`]s on a task of its own, and the test waits for the ones it expects, each
//! wait bounded (a missing event is a failure naming what was awaited, not a hang).

use std::time::Duration;

use pgplane::platform::{ObservedCluster, Platform, PlatformError, PlatformEvent};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// A running watch of a driver; dropping it cancels the watch.
pub struct DriverWatch {
    pub events: mpsc::Receiver<PlatformEvent>,
    pub cancel: CancellationToken,
    pub task: Option<JoinHandle<Result<(), PlatformError>>>,
    /// How long each wait lasts.
    wait: Duration,
}

impl DriverWatch {
    /// Starts `platform`'s watch; each wait of the returned reader lasts at most `wait`.
    pub fn start<P: Platform + Clone>(platform: P, wait: Duration) -> DriverWatch {
        let (tx, rx) = mpsc::channel(1024);
        let cancel = CancellationToken::new();
        let token = cancel.clone();
        let task = tokio::spawn(async move { platform.watch(tx, token).await });
        DriverWatch {
            events: rx,
            cancel,
            task: Some(task),
            wait,
        }
    }

    /// The next event.
    pub async fn next(&mut self) -> PlatformEvent {
        match tokio::time::timeout(self.wait, self.events.recv()).await {
            Ok(Some(e)) => e,
            Ok(None) => panic!("the watch ended"),
            Err(_) => panic!("no watch event within {:?}", self.wait),
        }
    }

    /// Skips events until `pick` returns `Some`, naming `what` if it never does.
    pub async fn until<T>(
        &mut self,
        what: &str,
        mut pick: impl FnMut(&PlatformEvent) -> Option<T>,
    ) -> T {
        let deadline = tokio::time::Instant::now() + self.wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.events.recv()).await {
                Ok(Some(e)) => {
                    if let Some(v) = pick(&e) {
                        return v;
                    }
                }
                Ok(None) => panic!("the watch ended while waiting for {what}"),
                Err(_) => panic!("timed out after {:?} waiting for {what}", self.wait),
            }
        }
    }

    /// Waits for an observation of `cluster_id` satisfying `pick`.
    pub async fn observed(
        &mut self,
        cluster_id: Uuid,
        what: &str,
        mut pick: impl FnMut(&ObservedCluster) -> bool,
    ) -> ObservedCluster {
        self.until(what, |e| match e {
            PlatformEvent::Observed(o) if o.cluster_id == cluster_id && pick(o) => {
                Some((**o).clone())
            }
            _ => None,
        })
        .await
    }

    /// Waits for the next `Resynced`.
    pub async fn resynced(&mut self) {
        self.until("Resynced", |e| {
            matches!(e, PlatformEvent::Resynced).then_some(())
        })
        .await;
    }

    /// Waits for `Gone` of `cluster_id`; returns its tenant's id.
    pub async fn gone(&mut self, cluster_id: Uuid) -> Uuid {
        self.until("Gone", |e| match e {
            PlatformEvent::Gone {
                cluster_id: id,
                tenant_id,
            } if *id == cluster_id => Some(*tenant_id),
            _ => None,
        })
        .await
    }

    /// Cancels the watch and returns what it returned.
    pub async fn stop(mut self) -> Result<(), PlatformError> {
        self.cancel.cancel();
        let task = self.task.take().expect("running");
        tokio::time::timeout(self.wait, task)
            .await
            .expect("the watch stops when cancelled")
            .expect("the watch task does not panic")
    }
}

impl Drop for DriverWatch {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}
