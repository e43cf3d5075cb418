//! The sample bus: the one typed broadcast every collector tick goes
//! through. Collectors publish an `Arc<Sample>`; the live hub, the health
//! monitor (and the history writer that comes next) each hold a receiver,
//! and anyone can read the latest sample without waiting for the next one.

use std::sync::{Arc, RwLock};

use app::metrics::Sample;
use tokio::sync::broadcast;

/// How many samples a slow subscriber may fall behind before it lags.
const CAPACITY: usize = 64;

/// Collectors -> subscribers.
pub(crate) struct SampleBus {
    tx: broadcast::Sender<Arc<Sample>>,
    latest: RwLock<Option<Arc<Sample>>>,
}

impl SampleBus {
    pub(crate) fn new() -> Arc<SampleBus> {
        let (tx, _) = broadcast::channel(CAPACITY);
        Arc::new(SampleBus {
            tx,
            latest: RwLock::new(None),
        })
    }

    /// Publishes a sample to every subscriber and makes it the latest.
    pub(crate) fn publish(&self, sample: Sample) -> Arc<Sample> {
        let sample = Arc::new(sample);
        *self.latest.write().unwrap_or_else(|e| e.into_inner()) = Some(sample.clone());
        // No subscribers is fine: nobody is listening yet.
        let _ = self.tx.send(sample.clone());
        sample
    }

    /// Every sample published from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<Sample>> {
        self.tx.subscribe()
    }

    /// The newest sample, if any was taken yet.
    pub(crate) fn latest(&self) -> Option<Arc<Sample>> {
        self.latest.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_subscriber_gets_every_sample_and_latest_is_kept() {
        let bus = SampleBus::new();
        assert!(bus.latest().is_none());
        let (mut a, mut b) = (bus.subscribe(), bus.subscribe());
        for ts in 1..=3 {
            bus.publish(Sample {
                ts,
                ..Default::default()
            });
        }
        for rx in [&mut a, &mut b] {
            let got: Vec<i64> = (0..3).map(|_| rx.try_recv().unwrap().ts).collect();
            assert_eq!(got, [1, 2, 3]);
        }
        assert_eq!(bus.latest().unwrap().ts, 3);
    }
}
