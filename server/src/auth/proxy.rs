//! Behind a reverse proxy: which peers are proxies, and what their headers
//! may be believed about.
//!
//! Only a peer inside [`TrustedProxies`] (`--trust-proxy`, `[server]
//! trusted_proxies`, as nginx's `set_real_ip_from`) is believed: its
//! `X-Forwarded-For` names the client (walked from the right, past every
//! trusted hop, as nginx's `real_ip_recursive`), its `X-Forwarded-Proto`
//! says whether the browser came over HTTPS. The same headers from anyone
//! else are ignored.
//!
//! Rate limits key on [`rate_key`]: an IPv4 address, or the /64 an IPv6
//! address lies in (one host usually holds a whole /64).

use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The proxies whose forwarding headers are believed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Trusts no one: forwarding headers are ignored.
    pub fn none() -> Self {
        TrustedProxies(Vec::new())
    }

    /// A proxy on this machine: `127.0.0.0/8` and `::1`.
    pub fn loopback() -> Self {
        TrustedProxies(vec![
            IpNet::from_str("127.0.0.0/8").expect("a valid network"),
            IpNet::from_str("::1/128").expect("a valid network"),
        ])
    }

    /// Trusts these networks.
    pub fn new(networks: Vec<IpNet>) -> Self {
        TrustedProxies(networks)
    }

    /// Parses each entry with [`parse_entry`].
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        entries
            .iter()
            .map(|e| parse_entry(e.as_ref()))
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    /// Both lists together.
    pub(crate) fn merged(mut self, other: &TrustedProxies) -> Self {
        for net in &other.0 {
            if !self.0.contains(net) {
                self.0.push(*net);
            }
        }
        self
    }

    /// Whether no proxy is trusted.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is one of the proxies.
    pub(crate) fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer, or, when the peer is a trusted
    /// proxy, the rightmost `X-Forwarded-For` entry that is not itself a
    /// trusted proxy. An entry that does not parse stops the walk at the
    /// last address that did.
    pub(crate) fn client_addr(&self, headers: &HeaderMap, peer: IpAddr) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        let entries = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for entry in entries.iter().rev() {
            let Some(ip) = parse_forwarded_addr(entry) else { break };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }

    /// Whether a trusted proxy says the browser came over HTTPS.
    pub(crate) fn forwarded_https(&self, headers: &HeaderMap, peer: IpAddr) -> bool {
        self.trusts(peer)
            && headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
    }
}

/// One `--trust-proxy` entry: an address (`127.0.0.1`, `::1`), a network
/// (`10.0.0.0/8`, `fd00::/8`), or an address with a port (`127.0.0.1:8080`,
/// `[::1]:8080`; the port is ignored, a proxy connects from any port).
pub fn parse_entry(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    if let Ok(net) = IpNet::from_str(text) {
        return Ok(net.trunc());
    }
    if let Some(ip) = parse_forwarded_addr(text) {
        return Ok(IpNet::from(ip));
    }
    Err(format!(
        "{text:?} is not an address or a network (e.g. 127.0.0.1, 10.0.0.0/8, [::1]:8080)"
    ))
}

/// An address as proxies write it: bare, `ip:port`, `[v6]` or `[v6]:port`.
fn parse_forwarded_addr(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = IpAddr::from_str(text) {
        return Some(ip.to_canonical());
    }
    if let Ok(addr) = std::net::SocketAddr::from_str(text) {
        return Some(addr.ip().to_canonical());
    }
    let inner = text.strip_prefix('[')?.strip_suffix(']')?;
    Ipv6Addr::from_str(inner).ok().map(|ip| IpAddr::V6(ip).to_canonical())
}

/// Whether a request carries any header a reverse proxy adds. Such a
/// request did not come straight from a browser on this machine, whatever
/// address it arrived from.
pub(crate) fn has_proxy_headers(headers: &HeaderMap) -> bool {
    [
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-real-ip",
    ]
    .iter()
    .any(|name| headers.contains_key(*name))
}

/// What rate limits and connection counts key on: an IPv4 address, or the
/// /64 of an IPv6 one.
pub(crate) fn rate_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(axum::http::HeaderName::from_str(k).unwrap(), v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn entries_parse_as_addresses_networks_or_addresses_with_ports() {
        for (text, net) in [
            ("127.0.0.1", "127.0.0.1/32"),
            ("10.1.2.3/8", "10.0.0.0/8"),
            ("127.0.0.1:8080", "127.0.0.1/32"),
            ("::1", "::1/128"),
            ("[::1]", "::1/128"),
            ("[::1]:8080", "::1/128"),
            ("fd00::/8", "fd00::/8"),
            (" 192.0.2.7 ", "192.0.2.7/32"),
        ] {
            assert_eq!(parse_entry(text), Ok(IpNet::from_str(net).unwrap()), "{text}");
        }
        for bad in ["", "localhost", "10.0.0.0/33", "1.2.3", "[::1", "127.0.0.1:port"] {
            let err = parse_entry(bad).unwrap_err();
            assert!(err.contains("not an address"), "{bad}: {err}");
        }
    }

    #[test]
    fn forwarding_headers_count_only_from_a_trusted_proxy() {
        let proxies = TrustedProxies::parse(&["10.0.0.1", "10.0.0.2"]).unwrap();
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.9, 198.51.100.4"),
            ("x-forwarded-proto", "https"),
        ]);
        // From someone else: the header is ignored, the peer is the client.
        assert_eq!(proxies.client_addr(&h, ip("192.0.2.1")), ip("192.0.2.1"));
        assert!(!proxies.forwarded_https(&h, ip("192.0.2.1")));
        // From the proxy: the last address it appended.
        assert_eq!(proxies.client_addr(&h, ip("10.0.0.1")), ip("198.51.100.4"));
        assert!(proxies.forwarded_https(&h, ip("10.0.0.1")));
        // Nobody trusted: always the peer.
        assert_eq!(TrustedProxies::none().client_addr(&h, ip("10.0.0.1")), ip("10.0.0.1"));
    }

    #[test]
    fn the_walk_skips_trusted_hops_and_stops_at_garbage() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8"]).unwrap();
        // A chain of two proxies: the client is left of both.
        let h = headers(&[("x-forwarded-for", "198.51.100.4, 10.0.0.7")]);
        assert_eq!(proxies.client_addr(&h, ip("10.0.0.1")), ip("198.51.100.4"));
        // A forged entry left of the real client is never reached.
        let h = headers(&[("x-forwarded-for", "1.1.1.1, 198.51.100.4")]);
        assert_eq!(proxies.client_addr(&h, ip("10.0.0.1")), ip("198.51.100.4"));
        // Two headers count as one list; ports and brackets are accepted.
        let h = headers(&[("x-forwarded-for", "1.1.1.1"), ("x-forwarded-for", "[2001:db8::5]:443")]);
        assert_eq!(proxies.client_addr(&h, ip("10.0.0.1")), ip("2001:db8::5"));
        // Garbage: the proxy itself is the best we know.
        let h = headers(&[("x-forwarded-for", "not-an-address")]);
        assert_eq!(proxies.client_addr(&h, ip("10.0.0.1")), ip("10.0.0.1"));
        // A v4 peer seen through a dual-stack socket is still trusted.
        let h = headers(&[("x-forwarded-for", "198.51.100.4")]);
        assert_eq!(proxies.client_addr(&h, ip("::ffff:10.0.0.1")), ip("198.51.100.4"));
    }

    #[test]
    fn ipv6_clients_share_a_key_per_64() {
        assert_eq!(rate_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(rate_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")), ip("2001:db8:1:2::"));
        assert_ne!(rate_key(ip("2001:db8:1:3::1")), rate_key(ip("2001:db8:1:2::1")));
        assert_eq!(rate_key(ip("192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(rate_key(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
    }

    #[test]
    fn proxy_headers_are_recognised() {
        assert!(!has_proxy_headers(&headers(&[("host", "127.0.0.1:3000")])));
        for name in [
            "forwarded",
            "x-forwarded-for",
            "x-real-ip",
            "x-forwarded-proto",
            "x-forwarded-host",
        ] {
            assert!(has_proxy_headers(&headers(&[(name, "x")])), "{name}");
        }
    }
}
