//! Whether a request comes from this Vigil's own pages, and is addressed
//! to this Vigil.
//!
//! - [`SiteNames::check_origin`]: every state-changing request (and the
//!   `/ws` handshake) must come from this origin: its `Origin` names this
//!   `Host` (or a configured `[live] allowed_origins` entry), or, where the
//!   browser sends `Origin: null` or none, its `Sec-Fetch-Site` says
//!   `same-origin`. A request with neither header is not from a browser
//!   (scripts, `curl`, Prometheus) and has no ambient session to abuse.
//!   This is what stops another site, another port on the same host or a
//!   sibling subdomain (all "same-site", so `SameSite=Strict` lets the
//!   cookie through) from acting with a signed-in browser.
//! - [`SiteNames::host_is_ours`]: an open Vigil (loopback, no account)
//!   answers only requests addressed to a loopback name or one of
//!   `[server] hostnames`, so a page that rebinds its own DNS name to
//!   127.0.0.1 cannot read it.

use std::sync::Arc;

use axum::http::uri::Authority;
use axum::http::{header, HeaderMap};

/// The names and origins this Vigil is reached by.
#[derive(Clone, Debug, Default)]
pub(crate) struct SiteNames {
    /// Public names (`[server] hostnames`), lowercase, without ports.
    hostnames: Arc<[String]>,
    /// Other origins whose pages may talk to this Vigil (`[live] allowed_origins`).
    allowed_origins: Arc<[String]>,
}

/// Why a request was not taken as this origin's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Foreign {
    #[error("origin {0} is not allowed")]
    Origin(String),
    #[error("a {0} request is not allowed")]
    FetchSite(String),
}

impl SiteNames {
    pub(crate) fn new(hostnames: &[String], allowed_origins: &[String]) -> Self {
        SiteNames {
            hostnames: hostnames
                .iter()
                .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
                .collect(),
            allowed_origins: allowed_origins
                .iter()
                .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
                .collect(),
        }
    }

    /// Whether the request is addressed to a loopback name or one of the
    /// configured host names. A request without `Host` (HTTP/1.0 tools)
    /// names nothing else and passes.
    pub(crate) fn host_is_ours(&self, headers: &HeaderMap) -> bool {
        let Some(host) = headers.get(header::HOST) else {
            return true;
        };
        let Some(name) = host.to_str().ok().and_then(host_name) else {
            return false;
        };
        is_loopback_name(&name) || self.hostnames.contains(&name)
    }

    /// Whether the request comes from a page of this origin (see the
    /// module doc); the foreign origin otherwise.
    pub(crate) fn check_origin(&self, headers: &HeaderMap) -> Result<(), Foreign> {
        let origin = headers.get(header::ORIGIN).map(|o| o.to_str().unwrap_or("(not text)"));
        if let Some(origin) = origin.filter(|o| *o != "null") {
            let lower = origin.trim_end_matches('/').to_ascii_lowercase();
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
            if self.allowed_origins.contains(&lower) || host.is_some_and(|h| same_origin(&lower, h)) {
                return Ok(());
            }
            return Err(Foreign::Origin(origin.to_string()));
        }
        match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
            Some("same-origin" | "none") => Ok(()),
            Some(site) => Err(Foreign::FetchSite(site.chars().take(20).collect())),
            // `Origin: null` from a browser too old to say where: refused.
            None if origin.is_some() => Err(Foreign::Origin("null".into())),
            None => Ok(()),
        }
    }
}

/// Whether `origin` (`scheme://host[:port]`, lowercase) names the same host
/// and port as a `Host` header; the port defaults by the origin's scheme.
fn same_origin(origin: &str, host: &str) -> bool {
    let Ok(url) = url::Url::parse(origin) else {
        return false;
    };
    if !matches!(url.scheme(), "http" | "https") || url.path() != "/" || url.query().is_some() {
        return false;
    }
    let (Some(origin_host), Some(origin_port)) = (url.host_str(), url.port_or_known_default()) else {
        return false;
    };
    let Ok(authority) = host.parse::<Authority>() else {
        return false;
    };
    // A Host without a port names the default port of the scheme the page
    // came over, not whichever port the Origin names.
    let default_port = if url.scheme() == "https" { 443 } else { 80 };
    let host_port = authority.port_u16().unwrap_or(default_port);
    authority.host().eq_ignore_ascii_case(origin_host) && host_port == origin_port
}

/// The name in a `Host` header: lowercase, without the port or a trailing
/// dot; IPv6 literals keep their brackets.
fn host_name(host: &str) -> Option<String> {
    let authority = host.parse::<Authority>().ok()?;
    if authority.as_str().contains('@') {
        return None;
    }
    Some(authority.host().trim_end_matches('.').to_ascii_lowercase())
}

/// `localhost`, a name under `.localhost`, `127.0.0.0/8` or `[::1]`.
fn is_loopback_name(name: &str) -> bool {
    if name == "localhost" || name.ends_with(".localhost") {
        return true;
    }
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn names() -> SiteNames {
        SiteNames::new(&["Vigil.Example.org".into()], &["https://dash.example/".into()])
    }

    #[test]
    fn same_origin_and_non_browsers_pass() {
        let n = names();
        for pairs in [
            vec![("host", "127.0.0.1:3000")],
            vec![("host", "127.0.0.1:3000"), ("origin", "http://127.0.0.1:3000")],
            vec![("host", "vigil.example"), ("origin", "https://vigil.example")],
            vec![("host", "vigil.example:80"), ("origin", "http://Vigil.Example")],
            vec![("host", "[::1]:3000"), ("origin", "http://[::1]:3000")],
            // A form post from a page under `Referrer-Policy: no-referrer` says null; the fetch metadata tells.
            vec![
                ("host", "127.0.0.1:3000"),
                ("origin", "null"),
                ("sec-fetch-site", "same-origin"),
            ],
            vec![("host", "127.0.0.1:3000"), ("sec-fetch-site", "none")],
            vec![("host", "127.0.0.1:3000"), ("origin", "https://dash.example")],
        ] {
            assert_eq!(n.check_origin(&headers(&pairs)), Ok(()), "{pairs:?}");
        }
    }

    #[test]
    fn other_sites_ports_and_subdomains_are_foreign() {
        let n = names();
        for pairs in [
            vec![("host", "127.0.0.1:3000"), ("origin", "http://evil.example")],
            vec![("host", "127.0.0.1:3000"), ("origin", "http://127.0.0.1:3001")],
            vec![("host", "vigil.example.org"), ("origin", "https://other.example.org")],
            vec![
                ("host", "vigil.example.org"),
                ("origin", "https://vigil.example.org:8443"),
            ],
            vec![("host", "127.0.0.1:3000"), ("origin", "null")],
            vec![
                ("host", "127.0.0.1:3000"),
                ("origin", "null"),
                ("sec-fetch-site", "cross-site"),
            ],
            vec![("host", "127.0.0.1:3000"), ("sec-fetch-site", "same-site")],
            vec![("host", "127.0.0.1:3000"), ("origin", "file://")],
            vec![("origin", "http://127.0.0.1:3000")],
        ] {
            assert!(n.check_origin(&headers(&pairs)).is_err(), "{pairs:?}");
        }
    }

    #[test]
    fn only_loopback_and_configured_names_are_ours() {
        let n = names();
        for host in [
            "127.0.0.1:3000",
            "127.9.9.9",
            "localhost:3000",
            "LOCALHOST",
            "app.localhost:3000",
            "[::1]:3000",
            "vigil.example.org",
            "vigil.example.org.:443",
        ] {
            assert!(n.host_is_ours(&headers(&[("host", host)])), "{host}");
        }
        for host in [
            "evil.example:3000",
            "127.0.0.1.evil.example",
            "localhost.evil.example",
            "10.0.0.1:3000",
            "user@127.0.0.1",
            "not a host",
        ] {
            assert!(!n.host_is_ours(&headers(&[("host", host)])), "{host}");
        }
        assert!(n.host_is_ours(&HeaderMap::new()), "no Host: a tool, not a browser");
    }
}
