//! TCP checks: the port accepts a connection. The connect latency is the
//! figure; nothing is sent.

use app::health::Status;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::{millis, sub, Outcome, Probe};
use crate::outbound::{describe_io, human};

/// Connects to `host:port`.
pub(crate) struct TcpProbe {
    address: String,
}

impl TcpProbe {
    pub(crate) fn new(address: String) -> TcpProbe {
        TcpProbe { address }
    }
}

#[async_trait::async_trait]
impl Probe for TcpProbe {
    async fn probe(&self) -> Outcome {
        let start = Instant::now();
        let result = TcpStream::connect(&self.address).await;
        let latency = start.elapsed();
        match result {
            Ok(stream) => {
                drop(stream);
                let reason = format!("connected in {}", human(latency));
                let mut o = Outcome::up(reason.clone()).with_latency(latency);
                o.subs = vec![sub("connect", Status::Up, reason, Some(millis(latency)))];
                o
            }
            Err(err) => Outcome::down(describe_io(&err)).with_latency(latency),
        }
    }
}
