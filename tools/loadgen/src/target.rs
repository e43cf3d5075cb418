//! Target validation: this tool only ever connects to the local machine.

use std::net::{IpAddr, SocketAddr};

use anyhow::{bail, Context, Result};
use tokio_tungstenite::tungstenite::http::Uri;

/// A validated `ws://` target on a loopback address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub url: String,
    pub host: String,
    pub port: u16,
}

fn is_loopback_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

/// True if `host` (as written in a URL, IPv6 possibly in brackets) is
/// 127.0.0.0/8, `localhost` or `::1`.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    if bare.eq_ignore_ascii_case("localhost") || bare.eq_ignore_ascii_case("localhost.") {
        return true;
    }
    bare.parse::<IpAddr>().is_ok_and(is_loopback_ip)
}

/// Parses a WebSocket URL and refuses anything that is not `ws://` on a
/// loopback host.
pub fn parse_loopback_ws_url(url: &str) -> Result<Target> {
    let uri: Uri = url.parse().with_context(|| format!("invalid URL {url:?}"))?;
    match uri.scheme_str() {
        Some("ws") => {}
        Some("wss") => bail!("wss:// is not supported; use ws:// against a local server"),
        other => bail!("URL must start with ws:// (got scheme {other:?})"),
    }
    let host = uri
        .host()
        .with_context(|| format!("URL {url:?} has no host"))?
        .to_string();
    if !is_loopback_host(&host) {
        bail!("refusing non-loopback target {host:?}: only 127.0.0.0/8, localhost and [::1] are allowed");
    }
    Ok(Target {
        url: url.to_string(),
        port: uri.port_u16().unwrap_or(80),
        host,
    })
}

/// Parses a listening address (`127.0.0.1:3001`, `[::1]:3001`) and refuses
/// anything but a loopback IP, so the floor server is never reachable from
/// another machine.
pub fn parse_loopback_bind(s: &str) -> Result<SocketAddr> {
    let addr: SocketAddr = s
        .parse()
        .with_context(|| format!("invalid address {s:?} (expected IP:PORT, e.g. 127.0.0.1:3001)"))?;
    if !is_loopback_ip(addr.ip()) {
        bail!("refusing to listen on {addr}: only 127.0.0.0/8 and [::1] are allowed");
    }
    Ok(addr)
}

/// Resolves the target and checks that every address it resolves to is a
/// loopback address (so a tampered `localhost` entry cannot redirect traffic).
pub async fn resolve_loopback(target: &Target) -> Result<SocketAddr> {
    let bare = target
        .host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(&target.host);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((bare, target.port))
        .await
        .with_context(|| format!("resolving {bare}"))?
        .collect();
    if addrs.is_empty() {
        bail!("{bare} did not resolve to any address");
    }
    if let Some(bad) = addrs.iter().find(|a| !is_loopback_ip(a.ip())) {
        bail!("{bare} resolves to non-loopback address {bad}; refusing");
    }
    // Prefer IPv4 when both are present; matches what the server binds by default.
    Ok(addrs.iter().copied().find(SocketAddr::is_ipv4).unwrap_or(addrs[0]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_loopback_urls() {
        for url in [
            "ws://127.0.0.1:3000/ws",
            "ws://127.1.2.3:3000/ws",
            "ws://localhost:3000/ws",
            "ws://LOCALHOST/ws",
            "ws://[::1]:3000/ws",
            "ws://[::ffff:127.0.0.1]:3000/ws",
        ] {
            let t = parse_loopback_ws_url(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(t.url, url);
        }
        let t = parse_loopback_ws_url("ws://127.0.0.1:3900/ws").unwrap();
        assert_eq!(t.host, "127.0.0.1");
        assert_eq!(t.port, 3900);
        assert_eq!(parse_loopback_ws_url("ws://localhost/ws").unwrap().port, 80);
        assert_eq!(parse_loopback_ws_url("ws://[::1]:9/ws").unwrap().port, 9);
    }

    #[test]
    fn refuses_other_hosts_and_schemes() {
        for url in [
            "ws://10.0.0.1:3000/ws",
            "ws://192.168.1.10/ws",
            "ws://172.16.0.1/ws",
            "ws://8.8.8.8/ws",
            "ws://0.0.0.0:3000/ws",
            "ws://[::]:3000/ws",
            "ws://[2001:db8::1]/ws",
            "ws://example.com/ws",
            "ws://localhost.example.com/ws",
            "ws://127.0.0.1.nip.io/ws",
            "wss://127.0.0.1/ws",
            "http://127.0.0.1/ws",
            "127.0.0.1:3000/ws",
            "not a url",
        ] {
            assert!(parse_loopback_ws_url(url).is_err(), "{url} should be refused");
        }
    }

    #[test]
    fn host_check() {
        assert!(is_loopback_host("127.0.0.1"));
        assert!(is_loopback_host("127.255.255.254"));
        assert!(is_loopback_host("[::1]"));
        assert!(is_loopback_host("::1"));
        assert!(!is_loopback_host("128.0.0.1"));
        assert!(!is_loopback_host("[::2]"));
        assert!(!is_loopback_host(""));
    }

    #[test]
    fn bind_addresses_must_be_loopback() {
        assert_eq!(
            parse_loopback_bind("127.0.0.1:3001").unwrap(),
            "127.0.0.1:3001".parse().unwrap()
        );
        assert!(parse_loopback_bind("[::1]:0").is_ok());
        for bad in [
            "0.0.0.0:3001",
            "[::]:3001",
            "192.168.1.2:80",
            "localhost:3001",
            "127.0.0.1",
            "",
        ] {
            assert!(parse_loopback_bind(bad).is_err(), "{bad} should be refused");
        }
    }

    #[tokio::test]
    async fn resolves_to_loopback() {
        let t = parse_loopback_ws_url("ws://127.0.0.1:3000/ws").unwrap();
        let addr = resolve_loopback(&t).await.unwrap();
        assert_eq!(addr, "127.0.0.1:3000".parse().unwrap());
        let t = parse_loopback_ws_url("ws://[::1]:3000/ws").unwrap();
        let addr = resolve_loopback(&t).await.unwrap();
        assert!(addr.ip().is_loopback());
    }
}
