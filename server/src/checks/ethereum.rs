//! Ethereum JSON-RPC ("web3") checks. One batched request per round asks
//! `eth_chainId`, `eth_syncing`, `net_peerCount`, `eth_blockNumber` and
//! `eth_getBlockByNumber("latest", false)`; a node that refuses batches gets
//! the five as single calls from then on. With a `reference` node its head
//! is asked at the same time and the lag compared.
//!
//! Parsing ([`parse_batch`], [`parse_single`], [`quantity`]) and judging
//! ([`judge`]) are pure functions: garbage, a JSON-RPC error object, a hex
//! value that does not parse or a missing answer each get their own reason.
//!
//! Parts: `chain_id`, `syncing`, `peers`, `block_number`, `head_age`,
//! `lag` (with a reference).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use app::health::Status;
use serde_json::{json, Value};
use tokio::time::Instant;

use super::config::{defaults, CheckConfig};
use super::http::read_limited;
use super::{snippet, sub, Outcome, Probe, SubResult};
use crate::outbound::{describe_error, human};

/// The largest JSON-RPC answer read.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// The calls of one round, in batch order (their ids are 1..=5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    ChainId,
    Syncing,
    PeerCount,
    BlockNumber,
    LatestBlock,
}

impl Method {
    pub(crate) const ALL: [Method; 5] = [
        Method::ChainId,
        Method::Syncing,
        Method::PeerCount,
        Method::BlockNumber,
        Method::LatestBlock,
    ];

    fn index(self) -> usize {
        self as usize
    }

    /// The JSON-RPC id of this call in a round.
    pub(crate) fn id(self) -> u64 {
        self.index() as u64 + 1
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Method::ChainId => "eth_chainId",
            Method::Syncing => "eth_syncing",
            Method::PeerCount => "net_peerCount",
            Method::BlockNumber => "eth_blockNumber",
            Method::LatestBlock => "eth_getBlockByNumber",
        }
    }

    /// The request object of this call.
    pub(crate) fn request(self) -> Value {
        let params = match self {
            Method::LatestBlock => json!(["latest", false]),
            _ => json!([]),
        };
        json!({"jsonrpc": "2.0", "id": self.id(), "method": self.name(), "params": params})
    }

    fn from_id(id: &Value) -> Option<Method> {
        // Ids come back as we sent them (numbers); be lenient with "3".
        let id = match id {
            Value::Number(n) => n.as_u64()?,
            Value::String(s) => s.parse().ok()?,
            _ => return None,
        };
        Method::ALL.into_iter().find(|m| m.id() == id)
    }
}

/// The batch of one round.
pub(crate) fn batch_request() -> Value {
    Value::Array(Method::ALL.iter().map(|m| m.request()).collect())
}

/// What the node answered to each call of a round: the `result`, or why
/// there is none (already prefixed with the method's name).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Answers {
    results: [Option<Result<Value, String>>; 5],
}

impl Answers {
    /// The result of `method`, or why there is none.
    pub fn get(&self, method: Method) -> Result<&Value, String> {
        match &self.results[method.index()] {
            Some(Ok(v)) => Ok(v),
            Some(Err(why)) => Err(why.clone()),
            None => Err(format!("{}: no answer", method.name())),
        }
    }

    pub(crate) fn set(&mut self, method: Method, answer: Result<Value, String>) {
        self.results[method.index()] = Some(answer.map_err(|why| format!("{}: {why}", method.name())));
    }

    /// Whether any call got a result.
    pub(crate) fn any_result(&self) -> bool {
        self.results.iter().any(|r| matches!(r, Some(Ok(_))))
    }
}

/// Why a batch answer cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// Not JSON at all (an HTML error page, a proxy's text, noise).
    #[error("not a JSON-RPC answer: {0}")]
    Garbage(String),
    /// One error object instead of an array: the node does not take batches.
    #[error("batch refused: {0}")]
    Refused(String),
    /// JSON, but neither an array of answers nor an error object.
    #[error("unexpected JSON-RPC answer: {0}")]
    Unexpected(String),
}

/// Reads the answer to [`batch_request`]: answers may come in any order and
/// are matched by id; an entry's error object is that call's reason.
pub fn parse_batch(body: &[u8]) -> Result<Answers, BatchError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| BatchError::Garbage(quote_body(body)))?;
    match value {
        Value::Array(entries) => {
            let mut answers = Answers::default();
            for entry in &entries {
                if let Some(method) = entry.get("id").and_then(Method::from_id) {
                    answers.set(method, answer_of(entry));
                }
            }
            if !answers.results.iter().any(Option::is_some) {
                return Err(BatchError::Unexpected(snippet(&Value::Array(entries).to_string(), 80)));
            }
            Ok(answers)
        }
        Value::Object(_) if value.get("error").is_some() => Err(BatchError::Refused(
            answer_of(&value).err().unwrap_or_else(|| "error object".into()),
        )),
        other => Err(BatchError::Unexpected(snippet(&other.to_string(), 80))),
    }
}

/// Reads the answer to one call.
pub fn parse_single(body: &[u8]) -> Result<Value, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|_| format!("not a JSON-RPC answer: {}", quote_body(body)))?;
    if !value.is_object() {
        return Err(format!(
            "unexpected JSON-RPC answer: {}",
            snippet(&value.to_string(), 80)
        ));
    }
    answer_of(&value)
}

/// The `result` of one answer object, or its `error` in words.
fn answer_of(entry: &Value) -> Result<Value, String> {
    if let Some(error) = entry.get("error").filter(|e| !e.is_null()) {
        let code = error.get("code").and_then(Value::as_i64);
        let message = error.get("message").and_then(Value::as_str).unwrap_or("");
        return Err(match code {
            Some(code) => format!("JSON-RPC error {code}: {}", snippet(message, 120)),
            None => format!("JSON-RPC error: {}", snippet(&error.to_string(), 120)),
        });
    }
    entry
        .get("result")
        .cloned()
        .ok_or_else(|| "answer has neither result nor error".to_string())
}

/// A JSON-RPC quantity (`"0x1a"`).
pub(crate) fn quantity(value: &Value) -> Result<u64, String> {
    let Some(text) = value.as_str() else {
        return Err(format!(
            "expected a hex string, got {}",
            snippet(&value.to_string(), 40)
        ));
    };
    let digits = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X"));
    match digits {
        Some(d) if !d.is_empty() && d.len() <= 16 => {
            u64::from_str_radix(d, 16).map_err(|_| format!("{:?} is not a hex number", snippet(text, 40)))
        }
        _ => Err(format!("{:?} is not a hex number", snippet(text, 40))),
    }
}

fn quote_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        "empty body".into()
    } else {
        format!("{:?}", snippet(text, 60))
    }
}

/// What an answer is judged against.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    pub chain_id: Option<u64>,
    pub max_block_age: Duration,
    /// 0 disables the peer check.
    pub min_peers: u64,
    pub max_lag_blocks: u64,
}

/// Judges one round: `reference` is the reference node's head (when one is
/// configured), `now_unix` the current Unix time in seconds.
pub fn judge(answers: &Answers, reference: Option<&Result<u64, String>>, limits: &Limits, now_unix: i64) -> Outcome {
    let mut subs = Vec::new();

    // The chain.
    let chain = answers
        .get(Method::ChainId)
        .and_then(|v| quantity(v).map_err(|e| format!("eth_chainId: {e}")));
    subs.push(match (&chain, limits.chain_id) {
        (Ok(got), Some(want)) if *got != want => sub(
            "chain_id",
            Status::Down,
            format!("chain id {got}, expected {want}"),
            Some(*got as f64),
        ),
        (Ok(got), _) => sub("chain_id", Status::Up, format!("chain id {got}"), Some(*got as f64)),
        (Err(why), Some(_)) => sub("chain_id", Status::Down, why.clone(), None),
        (Err(why), None) => sub("chain_id", Status::Unknown, why.clone(), None),
    });

    // Syncing.
    subs.push(match answers.get(Method::Syncing) {
        Ok(Value::Bool(false)) => sub("syncing", Status::Up, "not syncing", None),
        Ok(Value::Bool(true)) => sub("syncing", Status::Degraded, "syncing", None),
        Ok(Value::Object(progress)) => {
            let block = |key: &str| progress.get(key).and_then(|v| quantity(v).ok());
            match (block("currentBlock"), block("highestBlock")) {
                (Some(current), Some(highest)) => sub(
                    "syncing",
                    Status::Degraded,
                    format!(
                        "syncing: block {current} of {highest} ({} behind)",
                        highest.saturating_sub(current)
                    ),
                    Some(highest.saturating_sub(current) as f64),
                ),
                _ => sub("syncing", Status::Degraded, "syncing", None),
            }
        }
        Ok(other) => sub(
            "syncing",
            Status::Unknown,
            format!("eth_syncing: unexpected answer {}", snippet(&other.to_string(), 40)),
            None,
        ),
        Err(why) => sub("syncing", Status::Unknown, why, None),
    });

    // Peers.
    let peers = answers
        .get(Method::PeerCount)
        .and_then(|v| quantity(v).map_err(|e| format!("net_peerCount: {e}")));
    subs.push(match peers {
        Ok(n) if n < limits.min_peers => sub(
            "peers",
            Status::Degraded,
            format!("{n} peers, minimum {}", limits.min_peers),
            Some(n as f64),
        ),
        Ok(n) => sub("peers", Status::Up, format!("{n} peers"), Some(n as f64)),
        Err(why) if limits.min_peers == 0 => sub("peers", Status::Unknown, why, None),
        Err(why) => sub(
            "peers",
            Status::Degraded,
            format!("{why} (cannot check min_peers = {})", limits.min_peers),
            None,
        ),
    });

    // The head.
    let head = answers
        .get(Method::BlockNumber)
        .and_then(|v| quantity(v).map_err(|e| format!("eth_blockNumber: {e}")));
    subs.push(match &head {
        Ok(n) => sub("block_number", Status::Up, format!("head {n}"), Some(*n as f64)),
        Err(why) => sub("block_number", Status::Down, why.clone(), None),
    });

    // The latest block's age.
    subs.push(head_age(
        answers.get(Method::LatestBlock),
        limits.max_block_age,
        now_unix,
    ));

    // The lag behind the reference.
    if let Some(reference) = reference {
        subs.push(match (reference, &head) {
            (Err(why), _) => sub("lag", Status::Unknown, format!("reference: {why}"), None),
            (Ok(_), Err(_)) => sub("lag", Status::Unknown, "no head to compare", None),
            (Ok(theirs), Ok(ours)) if ours >= theirs => sub(
                "lag",
                Status::Up,
                format!("level with the reference ({} ahead)", ours - theirs),
                Some(0.0),
            ),
            (Ok(theirs), Ok(ours)) => {
                let lag = theirs - ours;
                let (status, reason) = if lag > limits.max_lag_blocks {
                    (
                        Status::Degraded,
                        format!("{lag} blocks behind the reference (limit {})", limits.max_lag_blocks),
                    )
                } else {
                    (Status::Up, format!("{lag} blocks behind the reference"))
                };
                sub("lag", status, reason, Some(lag as f64))
            }
        });
    }

    Outcome::from_subs(subs, summary)
}

fn head_age(block: Result<&Value, String>, limit: Duration, now_unix: i64) -> SubResult {
    let block = match block {
        Ok(Value::Null) => return sub("head_age", Status::Down, "eth_getBlockByNumber: no latest block", None),
        Ok(b) => b,
        Err(why) => return sub("head_age", Status::Down, why, None),
    };
    let Some(ts) = block.get("timestamp") else {
        return sub(
            "head_age",
            Status::Down,
            "eth_getBlockByNumber: the latest block has no timestamp",
            None,
        );
    };
    let ts = match quantity(ts) {
        Ok(ts) => ts,
        Err(e) => {
            return sub(
                "head_age",
                Status::Down,
                format!("eth_getBlockByNumber: timestamp {e}"),
                None,
            )
        }
    };
    // A node clock ahead of ours reads as a brand new block.
    let age = now_unix.saturating_sub(i64::try_from(ts).unwrap_or(i64::MAX)).max(0) as u64;
    let limit_s = limit.as_secs();
    if age > limit_s {
        sub(
            "head_age",
            Status::Down,
            format!("latest block {age} s old, limit {limit_s} s"),
            Some(age as f64),
        )
    } else {
        sub(
            "head_age",
            Status::Up,
            format!("latest block {age} s old"),
            Some(age as f64),
        )
    }
}

fn summary(subs: &[SubResult]) -> String {
    let reason = |name: &str| {
        subs.iter()
            .find(|s| s.name == name && s.status == Status::Up)
            .map(|s| s.reason.as_str())
    };
    // Peers: the count when the node tells it, else that it cannot.
    let peers = subs.iter().find(|s| s.name == "peers").map(|s| match s.status {
        Status::Unknown => format!("peer count unknown ({})", s.reason),
        _ => s.reason.clone(),
    });
    [
        reason("block_number").map(str::to_string),
        reason("head_age").map(str::to_string),
        reason("chain_id").map(str::to_string),
        peers,
        reason("lag").map(str::to_string),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ")
}

/// One Ethereum node, and optionally a reference node.
pub(crate) struct EthereumProbe {
    client: reqwest::Client,
    url: String,
    reference: Option<String>,
    limits: Limits,
    timeout: Duration,
    /// Cleared once the node has refused a batch and answered single calls.
    batches: AtomicBool,
}

impl EthereumProbe {
    pub(crate) fn new(client: reqwest::Client, check: &CheckConfig) -> EthereumProbe {
        EthereumProbe {
            client,
            url: check.url.clone().unwrap_or_default(),
            reference: check.reference.clone(),
            limits: Limits {
                chain_id: check.chain_id,
                max_block_age: check.max_block_age.unwrap_or(defaults::MAX_BLOCK_AGE),
                // Unset: not judged. Many nodes (Anvil, hosted RPC
                // providers) do not answer net_peerCount at all.
                min_peers: check.min_peers.unwrap_or(0),
                max_lag_blocks: check.max_lag_blocks.unwrap_or(defaults::MAX_LAG_BLOCKS),
            },
            timeout: check.timeout(),
            batches: AtomicBool::new(true),
        }
    }

    /// POSTs JSON; the HTTP status and (at most 1 MiB of) the body.
    async fn post(&self, url: &str, body: &Value) -> Result<(u16, Vec<u8>), String> {
        let mut res = self
            .client
            .post(url)
            .timeout(self.timeout)
            .json(body)
            .send()
            .await
            .map_err(|e| describe_error(&e, self.timeout))?;
        let code = res.status().as_u16();
        let body = read_limited(&mut res, MAX_ANSWER_BYTES, self.timeout).await?;
        Ok((code, body))
    }

    /// The answers of this round: one batch, or five single calls.
    async fn fetch(&self) -> Result<Answers, String> {
        if self.batches.load(Ordering::Relaxed) {
            let (code, body) = self.post(&self.url, &batch_request()).await?;
            match parse_batch(&body) {
                Ok(answers) => return Ok(answers),
                Err(BatchError::Refused(why)) => {
                    tracing::debug!(%why, "node refused a batch; trying single calls");
                }
                // Some servers answer a batch with a bare 4xx.
                Err(_) if (400..500).contains(&code) => {
                    tracing::debug!(code, "node answered a batch with an HTTP error; trying single calls");
                }
                Err(_) if !(200..300).contains(&code) => return Err(format!("HTTP {code}")),
                Err(err) => return Err(err.to_string()),
            }
            let answers = self.singles().await?;
            if answers.any_result() {
                tracing::info!("node does not take JSON-RPC batches: single calls from now on");
                self.batches.store(false, Ordering::Relaxed);
            }
            return Ok(answers);
        }
        self.singles().await
    }

    async fn singles(&self) -> Result<Answers, String> {
        let calls = Method::ALL.map(|m| async move { (m, self.call(&self.url, m).await) });
        let results = futures_util::future::join_all(calls).await;
        let mut answers = Answers::default();
        let mut transport = None;
        let mut answered = false;
        for (method, result) in results {
            match result {
                Ok(answer) => {
                    answered = true;
                    answers.set(method, answer);
                }
                Err(why) => {
                    transport.get_or_insert(why.clone());
                    answers.set(method, Err(why));
                }
            }
        }
        match transport {
            // Nothing got through: the node is unreachable.
            Some(why) if !answered => Err(why),
            _ => Ok(answers),
        }
    }

    /// One single call: `Err` when it did not reach the node (or the node
    /// answered with an HTTP error), `Ok(answer)` otherwise.
    async fn call(&self, url: &str, method: Method) -> Result<Result<Value, String>, String> {
        let (code, body) = self.post(url, &method.request()).await?;
        let answer = parse_single(&body);
        if answer.is_err() && !(200..300).contains(&code) {
            return Err(format!("HTTP {code}"));
        }
        Ok(answer)
    }

    async fn reference_head(&self, url: &str) -> Result<u64, String> {
        let answer = self.call(url, Method::BlockNumber).await?;
        answer
            .and_then(|v| quantity(&v))
            .map_err(|e| format!("eth_blockNumber: {e}"))
    }
}

#[async_trait::async_trait]
impl Probe for EthereumProbe {
    async fn probe(&self) -> Outcome {
        let start = Instant::now();
        let reference = async {
            match &self.reference {
                Some(url) => Some(self.reference_head(url).await),
                None => None,
            }
        };
        let (answers, reference) = tokio::join!(self.fetch(), reference);
        let latency = start.elapsed();
        let answers = match answers {
            Ok(a) => a,
            Err(why) => return Outcome::down(why).with_latency(latency),
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let mut outcome = judge(&answers, reference.as_ref(), &self.limits, now).with_latency(latency);
        if outcome.status == Status::Up {
            outcome.reason = format!("{} ({})", outcome.reason, human(latency));
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn limits() -> Limits {
        Limits {
            chain_id: Some(1),
            max_block_age: Duration::from_secs(60),
            min_peers: 3,
            max_lag_blocks: 5,
        }
    }

    fn healthy_batch() -> Value {
        json!([
            {"jsonrpc": "2.0", "id": 5, "result": {"number": "0x19c", "timestamp": format!("{:#x}", NOW - 4)}},
            {"jsonrpc": "2.0", "id": 1, "result": "0x1"},
            {"jsonrpc": "2.0", "id": 4, "result": "0x19c"},
            {"jsonrpc": "2.0", "id": 3, "result": "0x8"},
            {"jsonrpc": "2.0", "id": 2, "result": false}
        ])
    }

    fn judge_batch(batch: &Value, reference: Option<&Result<u64, String>>) -> Outcome {
        let answers = parse_batch(batch.to_string().as_bytes()).unwrap();
        judge(&answers, reference, &limits(), NOW)
    }

    fn sub_of<'a>(o: &'a Outcome, name: &str) -> &'a SubResult {
        o.subs.iter().find(|s| s.name == name).unwrap()
    }

    #[test]
    fn the_batch_asks_five_things_with_distinct_ids() {
        let batch = batch_request();
        let calls = batch.as_array().unwrap();
        assert_eq!(calls.len(), 5);
        let methods: Vec<&str> = calls.iter().map(|c| c["method"].as_str().unwrap()).collect();
        assert_eq!(
            methods,
            [
                "eth_chainId",
                "eth_syncing",
                "net_peerCount",
                "eth_blockNumber",
                "eth_getBlockByNumber"
            ]
        );
        assert_eq!(calls[4]["params"], json!(["latest", false]));
        let ids: std::collections::HashSet<u64> = calls.iter().map(|c| c["id"].as_u64().unwrap()).collect();
        assert_eq!(ids.len(), 5);
    }

    #[test]
    fn answers_in_any_order_are_matched_by_id() {
        let o = judge_batch(&healthy_batch(), None);
        assert_eq!(o.status, Status::Up, "{o:?}");
        assert_eq!(o.reason, "head 412, latest block 4 s old, chain id 1, 8 peers");
        assert_eq!(sub_of(&o, "block_number").value, Some(412.0));
        assert_eq!(sub_of(&o, "peers").value, Some(8.0));
        assert_eq!(sub_of(&o, "head_age").value, Some(4.0));
    }

    #[test]
    fn string_ids_are_accepted() {
        let answers = parse_batch(br#"[{"id":"4","result":"0x10"}]"#).unwrap();
        assert_eq!(answers.get(Method::BlockNumber), Ok(&json!("0x10")));
        assert_eq!(answers.get(Method::ChainId), Err("eth_chainId: no answer".into()));
    }

    #[test]
    fn a_stale_head_is_down() {
        let mut batch = healthy_batch();
        batch[0]["result"]["timestamp"] = json!(format!("{:#x}", NOW - 412));
        let o = judge_batch(&batch, None);
        assert_eq!(o.status, Status::Down);
        assert_eq!(o.reason, "latest block 412 s old, limit 60 s");
    }

    #[test]
    fn the_wrong_chain_is_down() {
        let mut batch = healthy_batch();
        batch[1]["result"] = json!("0x5");
        let o = judge_batch(&batch, None);
        assert_eq!(o.status, Status::Down);
        assert_eq!(o.reason, "chain id 5, expected 1");
    }

    #[test]
    fn few_peers_and_syncing_are_degraded() {
        let mut batch = healthy_batch();
        batch[3]["result"] = json!("0x2");
        batch[4]["result"] = json!({"startingBlock": "0x0", "currentBlock": "0x64", "highestBlock": "0xc8"});
        let o = judge_batch(&batch, None);
        assert_eq!(o.status, Status::Degraded);
        assert_eq!(o.reason, "syncing: block 100 of 200 (100 behind); 2 peers, minimum 3");
    }

    #[test]
    fn an_error_object_is_its_calls_reason() {
        let mut batch = healthy_batch();
        batch[3] = json!({"jsonrpc": "2.0", "id": 3, "error": {"code": -32601, "message": "method not found"}});
        let o = judge_batch(&batch, None);
        assert_eq!(o.status, Status::Degraded);
        assert_eq!(
            o.reason,
            "net_peerCount: JSON-RPC error -32601: method not found (cannot check min_peers = 3)"
        );
        // With the peer check off, the unanswered call does not count.
        let answers = parse_batch(batch.to_string().as_bytes()).unwrap();
        let off = Limits {
            min_peers: 0,
            ..limits()
        };
        let o = judge(&answers, None, &off, NOW);
        assert_eq!(o.status, Status::Up, "{o:?}");
        assert_eq!(sub_of(&o, "peers").status, Status::Unknown);
        assert_eq!(
            o.reason,
            "head 412, latest block 4 s old, chain id 1, peer count unknown (net_peerCount: JSON-RPC error -32601: method not found)"
        );
    }

    #[test]
    fn bad_hex_is_named() {
        let mut batch = healthy_batch();
        batch[2]["result"] = json!("0xzz");
        let o = judge_batch(&batch, None);
        assert_eq!(o.status, Status::Down);
        assert_eq!(o.reason, "eth_blockNumber: \"0xzz\" is not a hex number");
        assert_eq!(quantity(&json!(12)), Err("expected a hex string, got 12".into()));
        assert_eq!(quantity(&json!("0x")), Err("\"0x\" is not a hex number".into()));
        assert_eq!(quantity(&json!("12")), Err("\"12\" is not a hex number".into()));
        assert!(quantity(&json!("0x10000000000000000")).is_err(), "more than 64 bits");
        assert_eq!(quantity(&json!("0xff")), Ok(255));
    }

    #[test]
    fn missing_fields_are_named() {
        let mut batch = healthy_batch();
        batch[0]["result"] = json!({"number": "0x19c"});
        batch[2] = json!({"jsonrpc": "2.0", "id": 4});
        let o = judge_batch(&batch, None);
        assert_eq!(o.status, Status::Down);
        assert_eq!(
            o.reason,
            "eth_blockNumber: answer has neither result nor error; eth_getBlockByNumber: the latest block has no timestamp"
        );
        let mut batch = healthy_batch();
        batch[0]["result"] = Value::Null;
        let o = judge_batch(&batch, None);
        assert_eq!(o.reason, "eth_getBlockByNumber: no latest block");
        let answers = parse_batch(br#"[{"id":1,"result":"0x1"}]"#).unwrap();
        let o = judge(&answers, None, &limits(), NOW);
        assert!(o.reason.contains("eth_blockNumber: no answer"), "{}", o.reason);
    }

    #[test]
    fn garbage_is_not_a_panic() {
        for body in [&b"<html>502 Bad Gateway</html>"[..], b"", b"\xff\xfe", b"[1, 2", b"nul"] {
            let err = parse_batch(body).unwrap_err();
            assert!(matches!(err, BatchError::Garbage(_)), "{body:?}: {err:?}");
            assert!(err.to_string().starts_with("not a JSON-RPC answer: "), "{err}");
        }
        assert_eq!(
            parse_batch(b"<html>502 Bad Gateway</html>").unwrap_err().to_string(),
            "not a JSON-RPC answer: \"<html>502 Bad Gateway</html>\""
        );
        assert!(matches!(parse_batch(b"42"), Err(BatchError::Unexpected(_))));
        assert!(matches!(parse_batch(b"[]"), Err(BatchError::Unexpected(_))));
        assert!(matches!(parse_batch(br#"[{"foo":1}]"#), Err(BatchError::Unexpected(_))));
        assert!(parse_single(b"garbage")
            .unwrap_err()
            .starts_with("not a JSON-RPC answer"));
        assert!(parse_single(b"[]")
            .unwrap_err()
            .starts_with("unexpected JSON-RPC answer"));
    }

    #[test]
    fn a_node_cannot_forge_log_lines_through_its_error_message() {
        let body = br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"busy\n2026-12-06T00:00:00Z  INFO vigil: signed in\u001b[2K"}}"#;
        let reason = parse_single(body).unwrap_err();
        assert!(!reason.contains(['\n', '\u{1b}']), "{reason}");
        assert_eq!(
            reason,
            "JSON-RPC error -32000: busy\\n2026-12-06T00:00:00Z  INFO vigil: signed in\\u{1b}[2K"
        );
    }

    #[test]
    fn a_refused_batch_is_told_apart() {
        let body =
            br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"batch requests are not supported"}}"#;
        assert_eq!(
            parse_batch(body),
            Err(BatchError::Refused(
                "JSON-RPC error -32600: batch requests are not supported".into()
            ))
        );
        assert_eq!(
            parse_single(br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"method not found"}}"#),
            Err("JSON-RPC error -32601: method not found".into())
        );
        assert_eq!(
            parse_single(br#"{"jsonrpc":"2.0","id":1,"result":"0x1"}"#),
            Ok(json!("0x1"))
        );
    }

    #[test]
    fn lag_behind_the_reference() {
        let o = judge_batch(&healthy_batch(), Some(&Ok(412 + 3)));
        assert_eq!(o.status, Status::Up);
        assert_eq!(sub_of(&o, "lag").value, Some(3.0));
        let o = judge_batch(&healthy_batch(), Some(&Ok(412 + 30)));
        assert_eq!(o.status, Status::Degraded);
        assert_eq!(o.reason, "30 blocks behind the reference (limit 5)");
        let o = judge_batch(&healthy_batch(), Some(&Ok(400)));
        assert_eq!(o.status, Status::Up);
        let o = judge_batch(&healthy_batch(), Some(&Err("connect refused".into())));
        assert_eq!(
            o.status,
            Status::Up,
            "an unreachable reference is not this node's fault"
        );
        assert_eq!(sub_of(&o, "lag").reason, "reference: connect refused");
        assert_eq!(sub_of(&o, "lag").status, Status::Unknown);
    }
}
