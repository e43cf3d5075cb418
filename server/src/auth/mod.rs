//! Who may come in: accounts (argon2id password hashes), server-side
//! sessions behind an HttpOnly cookie, the sign-in rate limit, and the
//! policy every door applies.
//!
//! - Bound to loopback with no account, Vigil runs open, as a local tool.
//! - Bound to any other address with no account, it serves no data; its
//!   pages send people to `/setup`, which creates the first admin (or
//!   `[auth] admin_user` with a password file/env creates it at start).
//! - Once an account exists, every door but the sign-in pages, the static
//!   files and `/healthz` wants a session (`/metrics` also takes a bearer
//!   token, and stays open on loopback for a local Prometheus).
//!
//! - An open Vigil answers only requests addressed to a loopback name (or
//!   `[server] hostnames`) that no proxy forwarded; every state-changing
//!   request, in every mode, must come from this origin's pages.
//!
//! [`Auth`] is defined here; its parts, one file each:
//! - [`accounts`]: opening the account database, sign-in, the first
//!   account, sessions, user administration.
//! - [`policy`]: who a request is, what an open Vigil answers, `/metrics`,
//!   when a live socket must close, what a trusted proxy says.
//! - [`cookie`]: the session cookie and its token.
//! - [`store`] (SQLite), [`password`] (argon2), [`origin`] (Host and Origin
//!   checks), [`proxy`] (trusted proxies, rate-limit keys).
//! - [`gate`]: the middleware every request passes; [`routes`]: sign in,
//!   sign out, first account.

pub(crate) mod accounts;
pub(crate) mod cookie;
pub(crate) mod gate;
pub(crate) mod origin;
pub(crate) mod password;
pub(crate) mod policy;
pub mod proxy;
pub mod routes;
pub(crate) mod store;

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use app::auth::{AuthError, Role};
use governor::DefaultKeyedRateLimiter;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use self::origin::SiteNames;
use self::proxy::TrustedProxies;
use self::store::AuthStore;

/// How the doors are kept.
#[derive(Clone, Debug)]
pub(crate) struct AuthOptions {
    pub(crate) data_dir: PathBuf,
    /// Vigil is bound to a loopback address only.
    pub(crate) loopback: bool,
    /// How long a session lasts after sign-in.
    pub(crate) session_ttl: Duration,
    /// Sign-in attempts per client address per minute.
    pub(crate) attempts_per_minute: u32,
    /// The bearer token `/metrics` accepts (from a file or the environment).
    pub(crate) metrics_token: Option<String>,
    /// The account created at start when none exists (unattended installs).
    pub(crate) bootstrap_admin: Option<(String, String)>,
    /// Cookies get `Secure` (Vigil serves TLS itself).
    pub(crate) secure_cookies: bool,
    /// Peers whose `X-Forwarded-For`/`-Proto` are believed.
    pub(crate) proxies: TrustedProxies,
    /// The names and origins this Vigil is reached by.
    pub(crate) names: SiteNames,
}

/// Why an open Vigil refuses a request: it serves only this machine's browsers.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NotLocal {
    #[error(
        "this Vigil runs open (no account) on loopback and answers only loopback names; \
         {0:?} is not one (list it in [server] hostnames, or create an account)"
    )]
    Host(String),
    #[error(
        "this Vigil runs open (no account) on loopback, and this request came through a proxy \
         it was not told to trust: start it with --trust-proxy ADDR (the proxy's address), \
         or create the first account from this machine"
    )]
    Proxied,
}

/// Most argon2 hashes computed at once, whoever asks: each takes 19 MiB
/// and tens of milliseconds of a core.
fn hash_slots() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 8))
}

/// How long a hash waits for a slot before the request is turned away.
const HASH_WAIT: Duration = Duration::from_secs(10);

/// Why the account database could not be used at start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AuthStartError {
    #[error("cannot open the account database in {}: {source}", dir.display())]
    Open { dir: PathBuf, source: rusqlite::Error },
    #[error("cannot create the configured admin account: {0}")]
    Bootstrap(AuthError),
}

/// A signed-in session, in memory (the database is the copy that survives restarts).
#[derive(Debug)]
struct Session {
    account: String,
    role: Role,
    expires: i64,
    /// Cancelled when the session leaves the map (signed out, revoked,
    /// expired): the live sockets it opened close on it.
    ended: CancellationToken,
}

impl Session {
    fn new(account: String, role: Role, expires: i64) -> Session {
        Session {
            account,
            role,
            expires,
            ended: CancellationToken::new(),
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.ended.cancel();
    }
}

/// Accounts, sessions and the door policy.
pub(crate) struct Auth {
    store: Mutex<AuthStore>,
    /// Live sessions by id (hex SHA-256 of the token).
    sessions: RwLock<HashMap<String, Session>>,
    has_accounts: AtomicBool,
    /// Unauthenticated attempts that hash (sign-in, setup), per client
    /// address (an IPv6 client per /64).
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    /// Checks of an account's current password (changing one's own), per account.
    current_limiter: DefaultKeyedRateLimiter<String>,
    /// Requests to the public status doors, per client address.
    public_limiter: DefaultKeyedRateLimiter<IpAddr>,
    /// Bounds the hashes in progress (see [`hash_slots`]).
    hashing: Arc<Semaphore>,
    /// Cancelled when the first account is created: the live sockets an
    /// open Vigil served close then.
    open_ended: CancellationToken,
    options: AuthOptions,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("loopback", &self.options.loopback)
            .field("has_accounts", &self.has_accounts.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// A new session: the token goes to the browser, the id to the database.
pub(crate) struct NewSession {
    pub(crate) token: String,
    pub(crate) ttl: Duration,
}

#[cfg(test)]
mod tests;
