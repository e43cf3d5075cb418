//! The door policy: who a request is (a session, the open Vigil's
//! anonymous admin, or nobody), whether it may use an open Vigil (see
//! [`NotLocal`]), who may scrape `/metrics`, when a live socket must close,
//! and what a trusted proxy says about the client.

use std::net::IpAddr;
use std::time::Duration;

use app::auth::{Principal, Role};
use axum::http::HeaderMap;
use subtle::ConstantTimeEq;
use tokio_util::sync::CancellationToken;

use super::cookie::{session_cookie, session_id};
use super::origin::SiteNames;
use super::{proxy, Auth, AuthOptions, NotLocal};
use crate::signals::clock::now_s;

impl Auth {
    /// Whether every door is open: loopback and no account.
    pub(crate) fn is_open(&self) -> bool {
        self.options.loopback && !self.has_accounts()
    }

    pub(crate) fn options(&self) -> &AuthOptions {
        &self.options
    }

    /// The names and origins this Vigil is reached by.
    pub(crate) fn names(&self) -> &SiteNames {
        &self.options.names
    }

    /// Whether a request came straight from a browser on this machine:
    /// addressed to a loopback name (or a configured one) and forwarded by
    /// no proxy. Only such requests may use an open Vigil.
    pub(crate) fn local(&self, headers: &HeaderMap) -> Result<(), NotLocal> {
        if proxy::has_proxy_headers(headers) {
            return Err(NotLocal::Proxied);
        }
        if !self.options.names.host_is_ours(headers) {
            let host = headers
                .get(axum::http::header::HOST)
                .map(|h| String::from_utf8_lossy(h.as_bytes()).chars().take(100).collect())
                .unwrap_or_default();
            return Err(NotLocal::Host(host));
        }
        Ok(())
    }

    /// When the socket a request opens must close: its session's end and
    /// expiry, or, with no session (an open Vigil), the first account.
    pub(crate) fn socket_end(&self, session: Option<&str>) -> crate::live::ws::SessionEnd {
        let Some(id) = session else {
            return crate::live::ws::SessionEnd {
                ended: self.open_ended.clone(),
                expires: None,
            };
        };
        let sessions = self.sessions.read().expect("sessions lock");
        match sessions.get(id) {
            Some(s) => {
                let left = u64::try_from(s.expires - now_s()).unwrap_or(0);
                crate::live::ws::SessionEnd {
                    ended: s.ended.clone(),
                    expires: Some(tokio::time::Instant::now() + Duration::from_secs(left)),
                }
            }
            // The session ended between the gate's look and this one.
            None => {
                let gone = CancellationToken::new();
                gone.cancel();
                crate::live::ws::SessionEnd {
                    ended: gone,
                    expires: None,
                }
            }
        }
    }

    /// Who a request is: its session's account, the anonymous admin of an
    /// open Vigil (for a [`local`](Self::local) request only), or nobody.
    /// Also returns the session id when there is one.
    pub(crate) fn identify(&self, headers: &HeaderMap) -> Option<(Principal, Option<String>)> {
        if let Some(id) = session_cookie(headers).map(|token| session_id(&token)) {
            let sessions = self.sessions.read().expect("sessions lock");
            if let Some(session) = sessions.get(&id).filter(|s| s.expires > now_s()) {
                let who = Principal {
                    name: Some(session.account.clone()),
                    role: session.role,
                };
                return Some((who, Some(id)));
            }
        }
        (self.is_open() && self.local(headers).is_ok()).then_some((
            Principal {
                name: None,
                role: Role::Admin,
            },
            None,
        ))
    }

    /// Whether `/metrics` may answer: open to a local request on loopback
    /// (a local Prometheus), else a session or the configured bearer token.
    pub(crate) fn metrics_allowed(&self, headers: &HeaderMap, principal: Option<&Principal>) -> bool {
        if principal.is_some() || (self.options.loopback && self.local(headers).is_ok()) {
            return true;
        }
        let Some(expected) = &self.options.metrics_token else {
            return false;
        };
        headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| bool::from(given.trim().as_bytes().ct_eq(expected.as_bytes())))
    }

    /// The client's address: the peer, or, when the peer is a trusted
    /// proxy, the client its `X-Forwarded-For` names.
    pub(crate) fn client_addr(&self, headers: &HeaderMap, peer: IpAddr) -> IpAddr {
        self.options.proxies.client_addr(headers, peer)
    }

    /// Whether the browser reached Vigil over HTTPS (Vigil's own TLS, or a
    /// trusted proxy's `X-Forwarded-Proto`): cookies get `Secure`.
    pub(crate) fn https(&self, headers: &HeaderMap, peer: IpAddr) -> bool {
        self.options.secure_cookies || self.options.proxies.forwarded_https(headers, peer)
    }
}
