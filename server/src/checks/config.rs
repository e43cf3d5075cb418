//! The `[[checks]]` section of the config file, and the rules a check
//! must follow beyond its types. The config file's loader
//! turns an [`Invalid`] into an error naming the file, the line of the
//! offending entry's key and the key (`checks[1].timeout`).

use std::collections::HashMap;
use std::fmt;
use std::ops::RangeInclusive;
use std::time::Duration;

use app::checks::CheckKind;
use serde::Deserialize;

use crate::entries::{check_url, Invalid};

/// Defaults of the optional keys, in one place.
pub(crate) mod defaults {
    use std::time::Duration;

    pub(crate) const INTERVAL: Duration = Duration::from_secs(30);
    pub(crate) const TIMEOUT: Duration = Duration::from_secs(5);
    pub(crate) const RETRIES: u32 = 1;
    pub(crate) const FAILURE_THRESHOLD: u32 = 3;
    pub(crate) const RESET_TIMEOUT: Duration = Duration::from_secs(60);
    pub(crate) const CONFIRM: u32 = 2;
    pub(crate) const MAX_BLOCK_AGE: Duration = Duration::from_secs(120);
    pub(crate) const MAX_LAG_BLOCKS: u64 = 5;

    pub(super) fn interval() -> Duration {
        INTERVAL
    }
    /// The timeout of a check that sets none: [`TIMEOUT`], or four fifths of
    /// a shorter interval, so that any valid interval works without one.
    pub(crate) fn timeout_for(interval: Duration) -> Duration {
        TIMEOUT.min(interval * 4 / 5)
    }
    pub(super) fn retries() -> u32 {
        RETRIES
    }
    pub(super) fn failure_threshold() -> u32 {
        FAILURE_THRESHOLD
    }
    pub(super) fn reset_timeout() -> Duration {
        RESET_TIMEOUT
    }
    pub(super) fn confirm() -> u32 {
        CONFIRM
    }
}

/// Names of the built-in rollup components; a check may not take one.
const RESERVED_NAMES: [&str; 4] = ["collector", "memory", "storage", "store"];

/// One `[[checks]]` entry. Keys that belong to one type only are options,
/// so that setting one on another type is reported instead of ignored.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckConfig {
    /// Unique, URL-safe (`[a-z0-9_-]`): the check's name in the rollup, the
    /// API (`/api/v1/checks/NAME`) and alerts.
    pub name: String,
    #[serde(rename = "type")]
    pub(crate) kind: CheckKind,
    /// http(s) for `http` and `ethereum`, ws(s) for `websocket`.
    pub url: Option<String>,
    /// `host:port`, for `tcp` only.
    pub address: Option<String>,
    /// Time between two rounds (1s to 1h).
    #[serde(default = "defaults::interval", with = "humantime_serde")]
    pub interval: Duration,
    /// Longest one attempt may take; shorter than the interval. Unset:
    /// [`defaults::timeout_for`] the interval (see [`CheckConfig::timeout`]).
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    /// Attempts after the first, with backoff, inside one round, before the
    /// round counts as a failure.
    #[serde(default = "defaults::retries")]
    pub retries: u32,
    /// Failed rounds in a row that open the circuit breaker.
    #[serde(default = "defaults::failure_threshold")]
    pub failure_threshold: u32,
    /// How long an open breaker waits before one trial probe.
    #[serde(default = "defaults::reset_timeout", with = "humantime_serde")]
    pub reset_timeout: Duration,
    /// Rounds a new status must hold before it is announced (flap damping).
    #[serde(default = "defaults::confirm")]
    pub confirm: u32,

    /// http: the status codes that count as up (default 200-299).
    pub expect_status: Option<ExpectStatus>,
    /// http: text the body must contain.
    pub keyword: Option<String>,
    /// http: slower answers are degraded.
    #[serde(default, with = "humantime_serde")]
    pub max_latency: Option<Duration>,

    /// websocket: a text message sent after the handshake.
    pub send: Option<String>,
    /// websocket: text the first message from the server must contain.
    pub expect: Option<String>,

    /// ethereum: `eth_chainId` must equal it.
    pub chain_id: Option<u64>,
    /// ethereum: an older latest block is down (default 120s).
    #[serde(default, with = "humantime_serde")]
    pub max_block_age: Option<Duration>,
    /// ethereum: fewer peers is degraded (default 1; 0 disables).
    pub min_peers: Option<u64>,
    /// ethereum: a second node whose head this one's is compared with.
    pub reference: Option<String>,
    /// ethereum: a head further behind the reference's is degraded (default 5).
    pub max_lag_blocks: Option<u64>,

    /// Checks this one needs (a gateway, a database): while one of them
    /// is down, this check's alerts are shown but not sent, and the
    /// parent's message names it.
    #[serde(default)]
    pub depends_on: Vec<String>,

    /// The service level objective, percent of monitored time up (`99.9`):
    /// the reports show the error budget it leaves and how fast it burns.
    pub slo: Option<f64>,
}

impl CheckConfig {
    /// The longest one attempt may take: as set, or derived from the interval.
    pub fn timeout(&self) -> Duration {
        self.timeout.unwrap_or_else(|| defaults::timeout_for(self.interval))
    }

    /// A check with every optional key at its default, for code and tests
    /// that build checks without a file.
    pub fn new(name: &str, kind: CheckKind) -> CheckConfig {
        CheckConfig {
            name: name.into(),
            kind,
            url: None,
            address: None,
            interval: defaults::INTERVAL,
            timeout: None,
            retries: defaults::RETRIES,
            failure_threshold: defaults::FAILURE_THRESHOLD,
            reset_timeout: defaults::RESET_TIMEOUT,
            confirm: defaults::CONFIRM,
            expect_status: None,
            keyword: None,
            max_latency: None,
            send: None,
            expect: None,
            chain_id: None,
            max_block_age: None,
            min_peers: None,
            reference: None,
            max_lag_blocks: None,
            depends_on: Vec::new(),
            slo: None,
        }
    }
}

/// The HTTP status codes an `http` check accepts: `"200"`, `"200-299"` or
/// a list such as `"200,204,300-399"`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct ExpectStatus {
    ranges: Vec<RangeInclusive<u16>>,
}

impl Default for ExpectStatus {
    fn default() -> Self {
        ExpectStatus {
            ranges: vec![200..=299],
        }
    }
}

impl ExpectStatus {
    /// Whether `code` is accepted.
    pub(crate) fn accepts(&self, code: u16) -> bool {
        self.ranges.iter().any(|r| r.contains(&code))
    }
}

impl fmt::Display for ExpectStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if r.start() == r.end() {
                write!(f, "{}", r.start())?;
            } else {
                write!(f, "{}-{}", r.start(), r.end())?;
            }
        }
        Ok(())
    }
}

impl std::str::FromStr for ExpectStatus {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || {
            format!("{text:?} is not a status code, range or list (like \"200\", \"200-299\" or \"200,204,300-399\")")
        };
        let code = |s: &str| -> Result<u16, String> {
            let s = s.trim();
            match s.parse::<u16>() {
                Ok(c) if (100..=599).contains(&c) && s.len() == 3 => Ok(c),
                _ => Err(bad()),
            }
        };
        let mut ranges = Vec::new();
        for part in text.split(',') {
            let range = match part.split_once('-') {
                Some((lo, hi)) => {
                    let (lo, hi) = (code(lo)?, code(hi)?);
                    if lo > hi {
                        return Err(format!("{text:?}: range {lo}-{hi} is empty"));
                    }
                    lo..=hi
                }
                None => {
                    let c = code(part)?;
                    c..=c
                }
            };
            ranges.push(range);
        }
        Ok(ExpectStatus { ranges })
    }
}

impl TryFrom<String> for ExpectStatus {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        text.parse()
    }
}

/// Checks every rule of the `checks` section.
pub(crate) fn validate(checks: &[CheckConfig]) -> Result<(), Invalid> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (index, check) in checks.iter().enumerate() {
        let fail = |field: Option<&'static str>, message: String| Invalid {
            section: "checks",
            index,
            field,
            message: format!("check {:?}: {message}", check.name),
        };
        validate_check(check).map_err(|(field, message)| fail(field, message))?;
        if let Some(first) = seen.insert(&check.name, index) {
            return Err(fail(
                Some("name"),
                format!("duplicate name (checks[{first}] has it too); names must be unique"),
            ));
        }
    }
    for (index, check) in checks.iter().enumerate() {
        let fail = |message: String| Invalid {
            section: "checks",
            index,
            field: Some("depends_on"),
            message: format!("check {:?}: {message}", check.name),
        };
        for parent in &check.depends_on {
            if !seen.contains_key(parent.as_str()) {
                return Err(fail(format!("no check is named {parent:?}")));
            }
        }
        if let Some(path) = dependency_cycle(checks, &check.name) {
            return Err(fail(format!("depends on itself: {}", path.join(" -> "))));
        }
    }
    Ok(())
}

/// A chain of `depends_on` from `start` back to itself, if there is one.
fn dependency_cycle(checks: &[CheckConfig], start: &str) -> Option<Vec<String>> {
    let parents = |name: &str| {
        checks
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.depends_on.clone())
            .unwrap_or_default()
    };
    let mut stack = vec![(start.to_string(), vec![start.to_string()])];
    let mut visited = std::collections::HashSet::new();
    while let Some((name, path)) = stack.pop() {
        for parent in parents(&name) {
            let mut next = path.clone();
            next.push(parent.clone());
            if parent == start {
                return Some(next);
            }
            if visited.insert(parent.clone()) {
                stack.push((parent, next));
            }
        }
    }
    None
}

type Rule = Result<(), (Option<&'static str>, String)>;

fn validate_check(c: &CheckConfig) -> Rule {
    let name_ok = !c.name.is_empty()
        && c.name.len() <= app::checks::MAX_CHECK_NAME_BYTES
        && c.name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !name_ok {
        return Err((
            Some("name"),
            "a name is 1 to 64 of a-z, 0-9, '_' and '-' (it appears in URLs)".into(),
        ));
    }
    if RESERVED_NAMES.contains(&c.name.as_str()) {
        return Err((
            Some("name"),
            format!("{:?} is a built-in component of the health rollup", c.name),
        ));
    }
    if let Some(slo) = c.slo {
        if !(slo > 0.0 && slo < 100.0) {
            return Err((
                Some("slo"),
                format!("{slo} is not a percentage between 0 and 100 (like 99.9)"),
            ));
        }
    }
    let kind = c.kind.as_str();

    // Where the target is.
    match c.kind {
        CheckKind::Tcp => {
            if c.url.is_some() {
                return Err((
                    Some("url"),
                    "tcp checks take `address = \"host:port\"`, not a url".into(),
                ));
            }
            let address = c
                .address
                .as_deref()
                .ok_or((Some("address"), "tcp checks need `address = \"host:port\"`".to_string()))?;
            check_address(address).map_err(|m| (Some("address"), m))?;
        }
        _ => {
            if c.address.is_some() {
                return Err((
                    Some("address"),
                    format!("`address` is for tcp checks; {kind} checks take a url"),
                ));
            }
            let url = c
                .url
                .as_deref()
                .ok_or((Some("url"), format!("{kind} checks need a `url`")))?;
            let schemes: &[&str] = match c.kind {
                CheckKind::Websocket => &["ws", "wss"],
                _ => &["http", "https"],
            };
            check_url(url, schemes).map_err(|m| (Some("url"), m))?;
        }
    }

    // Timing.
    if c.interval < Duration::from_secs(1) || c.interval > Duration::from_secs(3600) {
        return Err((Some("interval"), format!("{:?} is out of range (1s to 1h)", c.interval)));
    }
    let timeout = c.timeout();
    if timeout < Duration::from_millis(100) {
        return Err((Some("timeout"), format!("{timeout:?} is shorter than 100ms")));
    }
    if timeout >= c.interval {
        return Err((
            Some("timeout"),
            format!("{timeout:?} must be shorter than the interval ({:?})", c.interval),
        ));
    }
    if c.retries > 10 {
        return Err((Some("retries"), format!("{} is more than 10", c.retries)));
    }
    if !(1..=100).contains(&c.failure_threshold) {
        return Err((
            Some("failure_threshold"),
            format!("{} is out of range (1 to 100)", c.failure_threshold),
        ));
    }
    if c.reset_timeout < Duration::from_secs(1) || c.reset_timeout > Duration::from_secs(86_400) {
        return Err((
            Some("reset_timeout"),
            format!("{:?} is out of range (1s to 24h)", c.reset_timeout),
        ));
    }
    if !(1..=100).contains(&c.confirm) {
        return Err((Some("confirm"), format!("{} is out of range (1 to 100)", c.confirm)));
    }

    // Keys that belong to one type only.
    let only = |field: &'static str, set: bool, owner: CheckKind| -> Rule {
        if set && c.kind != owner {
            Err((
                Some(field),
                format!("`{field}` is for {} checks, not {kind}", owner.as_str()),
            ))
        } else {
            Ok(())
        }
    };
    only("expect_status", c.expect_status.is_some(), CheckKind::Http)?;
    only("keyword", c.keyword.is_some(), CheckKind::Http)?;
    only("max_latency", c.max_latency.is_some(), CheckKind::Http)?;
    only("send", c.send.is_some(), CheckKind::Websocket)?;
    only("expect", c.expect.is_some(), CheckKind::Websocket)?;
    only("chain_id", c.chain_id.is_some(), CheckKind::Ethereum)?;
    only("max_block_age", c.max_block_age.is_some(), CheckKind::Ethereum)?;
    only("min_peers", c.min_peers.is_some(), CheckKind::Ethereum)?;
    only("reference", c.reference.is_some(), CheckKind::Ethereum)?;
    only("max_lag_blocks", c.max_lag_blocks.is_some(), CheckKind::Ethereum)?;

    if c.keyword.as_deref() == Some("") {
        return Err((Some("keyword"), "an empty keyword matches every body".into()));
    }
    if c.max_latency.is_some_and(|d| d.is_zero()) {
        return Err((Some("max_latency"), "must be more than 0".into()));
    }
    if c.max_block_age.is_some_and(|d| d < Duration::from_secs(1)) {
        return Err((Some("max_block_age"), "must be at least 1s".into()));
    }
    if let Some(reference) = &c.reference {
        check_url(reference, &["http", "https"]).map_err(|m| (Some("reference"), m))?;
    } else if c.max_lag_blocks.is_some() {
        return Err((
            Some("max_lag_blocks"),
            "needs a `reference` node to compare heads with".into(),
        ));
    }
    Ok(())
}

/// `host:port` (IPv6 in brackets).
fn check_address(address: &str) -> Result<(), String> {
    let bad = || format!("{address:?} is not host:port");
    let (host, port) = address.rsplit_once(':').ok_or_else(bad)?;
    let port_ok = port.parse::<u16>().is_ok_and(|p| p > 0);
    if host.is_empty() || !port_ok || host.contains(char::is_whitespace) {
        return Err(bad());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expect_status_forms() {
        let s: ExpectStatus = "200".parse().unwrap();
        assert!(s.accepts(200) && !s.accepts(201));
        let s: ExpectStatus = "200-299".parse().unwrap();
        assert!(s.accepts(200) && s.accepts(299) && !s.accepts(300) && !s.accepts(199));
        let s: ExpectStatus = "200, 204,300-399".parse().unwrap();
        assert!(s.accepts(204) && s.accepts(301) && !s.accepts(203) && !s.accepts(404));
        assert_eq!(s.to_string(), "200,204,300-399");
        assert_eq!(ExpectStatus::default().to_string(), "200-299");
        assert!(ExpectStatus::default().accepts(250));
    }

    #[test]
    fn bad_expect_status_is_refused() {
        for bad in [
            "",
            "2xx",
            "99",
            "600",
            "200-",
            "-200",
            "299-200",
            "200,,204",
            "0200",
            "200-299-300",
        ] {
            let err = bad.parse::<ExpectStatus>().unwrap_err();
            assert!(err.contains(&format!("{bad:?}")), "{bad}: {err}");
        }
    }

    #[test]
    fn dependencies_name_checks_and_never_loop() {
        let mut a = CheckConfig::new("a", CheckKind::Tcp);
        a.address = Some("127.0.0.1:1".into());
        let mut b = a.clone();
        b.name = "b".into();
        b.depends_on = vec!["a".into()];
        assert_eq!(validate(&[a.clone(), b.clone()]), Ok(()));
        let mut c = b.clone();
        c.name = "c".into();
        c.depends_on = vec!["nope".into()];
        let err = validate(&[a.clone(), c]).unwrap_err();
        assert_eq!(
            (err.key(), err.message.as_str()),
            ("checks[1].depends_on".into(), "check \"c\": no check is named \"nope\"")
        );
        a.depends_on = vec!["b".into()];
        let err = validate(&[a, b]).unwrap_err();
        assert_eq!(err.message, "check \"a\": depends on itself: a -> b -> a");
    }

    #[test]
    fn addresses() {
        assert!(check_address("127.0.0.1:80").is_ok());
        assert!(check_address("db.local:5432").is_ok());
        assert!(check_address("[::1]:8080").is_ok());
        for bad in ["localhost", ":80", "host:0", "host:http", "host:70000", "a b:1"] {
            assert!(check_address(bad).is_err(), "{bad}");
        }
    }
}
