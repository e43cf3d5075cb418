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
//! Parts: [`store`] (SQLite), [`password`] (argon2), [`gate`] (the
//! middleware), [`routes`] (sign in, sign out, first account), [`origin`]
//! (Host and Origin checks), [`proxy`] (trusted proxies, rate-limit keys).

pub mod gate;
pub mod origin;
pub mod password;
pub mod proxy;
pub mod routes;
pub mod store;

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::Semaphore;

use app::auth::{validate_name, validate_password, Account, AuthError, Principal, Role};
use axum::http::HeaderMap;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use self::origin::SiteNames;
use self::proxy::{rate_key, TrustedProxies};
use self::store::{AuthStore, StoredSession};

/// The session cookie's name.
pub const COOKIE: &str = "vigil_session";

/// How the doors are kept.
#[derive(Clone, Debug)]
pub struct AuthOptions {
    pub data_dir: PathBuf,
    /// Vigil is bound to a loopback address only.
    pub loopback: bool,
    /// How long a session lasts after sign-in.
    pub session_ttl: Duration,
    /// Sign-in attempts per client address per minute.
    pub attempts_per_minute: u32,
    /// The bearer token `/metrics` accepts (from a file or the environment).
    pub metrics_token: Option<String>,
    /// The account created at start when none exists (unattended installs).
    pub bootstrap_admin: Option<(String, String)>,
    /// Cookies get `Secure` (Vigil serves TLS itself).
    pub secure_cookies: bool,
    /// Peers whose `X-Forwarded-For`/`-Proto` are believed.
    pub proxies: TrustedProxies,
    /// The names and origins this Vigil is reached by.
    pub names: SiteNames,
}

/// Why an open Vigil refuses a request: it serves only this machine's browsers.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotLocal {
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
pub enum AuthStartError {
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
pub struct Auth {
    store: Mutex<AuthStore>,
    /// Live sessions by id (hex SHA-256 of the token).
    sessions: RwLock<HashMap<String, Session>>,
    has_accounts: AtomicBool,
    /// Unauthenticated attempts that hash (sign-in, setup), per client
    /// address (an IPv6 client per /64).
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    /// Checks of an account's current password (changing one's own), per account.
    current_limiter: DefaultKeyedRateLimiter<String>,
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
pub struct NewSession {
    pub token: String,
    pub ttl: Duration,
}

impl Auth {
    /// Opens the account database, loads live sessions, and creates the
    /// configured admin when there is no account yet.
    pub fn open(options: AuthOptions) -> Result<Arc<Auth>, AuthStartError> {
        let open_err = |source| AuthStartError::Open {
            dir: options.data_dir.clone(),
            source,
        };
        let store = AuthStore::open(&options.data_dir).map_err(open_err)?;
        let sessions = store
            .live_sessions(now_s())
            .map_err(open_err)?
            .into_iter()
            .map(|s| (s.id, Session::new(s.account, s.role, s.expires)))
            .collect();
        let has_accounts = store.account_count().map_err(open_err)? > 0;
        let per_minute = NonZeroU32::new(options.attempts_per_minute.max(1)).expect("at least one");
        let open_ended = CancellationToken::new();
        if has_accounts {
            open_ended.cancel();
        }
        let auth = Arc::new(Auth {
            store: Mutex::new(store),
            sessions: RwLock::new(sessions),
            has_accounts: AtomicBool::new(has_accounts),
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
            current_limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
            hashing: Arc::new(Semaphore::new(hash_slots())),
            open_ended,
            options,
        });
        if let (false, Some((name, password))) = (has_accounts, auth.options.bootstrap_admin.clone()) {
            auth.create_first(&name, &password).map_err(AuthStartError::Bootstrap)?;
            tracing::info!(account = %name, "created the configured admin account");
        }
        Ok(auth)
    }

    /// Whether any account exists.
    pub fn has_accounts(&self) -> bool {
        self.has_accounts.load(Ordering::Acquire)
    }

    /// Whether every door is open: loopback and no account.
    pub fn is_open(&self) -> bool {
        self.options.loopback && !self.has_accounts()
    }

    pub fn options(&self) -> &AuthOptions {
        &self.options
    }

    /// The names and origins this Vigil is reached by.
    pub fn names(&self) -> &SiteNames {
        &self.options.names
    }

    /// Whether a request came straight from a browser on this machine:
    /// addressed to a loopback name (or a configured one) and forwarded by
    /// no proxy. Only such requests may use an open Vigil.
    pub fn local(&self, headers: &HeaderMap) -> Result<(), NotLocal> {
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
    pub fn socket_end(&self, session: Option<&str>) -> crate::live::ws::SessionEnd {
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
    pub fn identify(&self, headers: &HeaderMap) -> Option<(Principal, Option<String>)> {
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
    pub fn metrics_allowed(&self, headers: &HeaderMap, principal: Option<&Principal>) -> bool {
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
            .is_some_and(|given| constant_time_eq(given.trim().as_bytes(), expected.as_bytes()))
    }

    /// Counts one unauthenticated attempt that hashes (sign-in, setup) from `client`.
    fn limit(&self, client: IpAddr, what: &str) -> Result<(), AuthError> {
        self.limiter.check_key(&rate_key(client)).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()));
            tracing::warn!(%client, what, "rate limit reached");
            AuthError::RateLimited(wait.as_secs().max(1))
        })
    }

    /// Runs `f` (which hashes) on the blocking pool once one of the hash
    /// slots is free; turns the request away if none frees up in time.
    async fn hashing<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, AuthError> + Send + 'static,
    ) -> Result<T, AuthError> {
        let permit = tokio::time::timeout(HASH_WAIT, self.hashing.clone().acquire_owned())
            .await
            .ok()
            .and_then(Result::ok)
            .ok_or_else(|| AuthError::Unavailable("every password hash slot stayed busy".into()))?;
        blocking(move || {
            let _permit = permit;
            f()
        })
        .await
    }

    /// Signs in, after the rate limit, with the hash check off the async workers.
    pub async fn sign_in(
        self: &Arc<Self>,
        name: String,
        password: String,
        client: IpAddr,
    ) -> Result<NewSession, AuthError> {
        self.limit(client, "sign-in")?;
        let auth = self.clone();
        self.hashing(move || {
            let found = auth.store()?.credentials(&name).map_err(unavailable)?;
            let role = match found {
                Some((hash, role)) if password::verify(&password, &hash) => Some(role),
                Some(_) => None,
                // Unknown names cost a hash check too, so timing does not
                // tell which names exist.
                None => {
                    password::verify(&password, password::decoy_hash());
                    None
                }
            };
            let Some(role) = role else {
                tracing::info!(%client, "failed sign-in");
                return Err(AuthError::BadCredentials);
            };
            let session = auth.new_session(&name, role)?;
            tracing::info!(account = %name, %client, "signed in");
            Ok(session)
        })
        .await
    }

    /// Creates the first admin account and signs it in. Once an account
    /// exists this is refused at once, before any hashing; attempts count
    /// against the client's sign-in rate limit.
    pub async fn set_up(
        self: &Arc<Self>,
        name: String,
        password: String,
        client: IpAddr,
    ) -> Result<NewSession, AuthError> {
        if self.has_accounts() {
            return Err(AuthError::SetupDone);
        }
        self.limit(client, "setup")?;
        validate_name(&name)?;
        validate_password(&password)?;
        let auth = self.clone();
        self.hashing(move || {
            auth.create_first(&name, &password)?;
            tracing::info!(account = %name, "created the first admin account");
            auth.new_session(&name, Role::Admin)
        })
        .await
    }

    /// Ends a session (sign-out); unknown ids are ignored.
    pub async fn end_session(self: &Arc<Self>, id: String) -> Result<(), AuthError> {
        let auth = self.clone();
        blocking(move || {
            auth.store()?.delete_session(&id).map_err(unavailable)?;
            auth.sessions.write().expect("sessions lock").remove(&id);
            Ok(())
        })
        .await
    }

    fn create_first(&self, name: &str, password: &str) -> Result<(), AuthError> {
        validate_name(name)?;
        validate_password(password)?;
        let hash = password::hash(password)?;
        if !self
            .store()?
            .insert_first_account(name, &hash, now_ms())
            .map_err(unavailable)?
        {
            return Err(AuthError::SetupDone);
        }
        self.accounts_exist();
        Ok(())
    }

    /// An account exists now: an open Vigil closes, with its sockets.
    fn accounts_exist(&self) {
        self.has_accounts.store(true, Ordering::Release);
        self.open_ended.cancel();
    }

    /// Whether `password` is `name`'s current one (changing one's own
    /// password asks for it), limited per account.
    async fn check_current(&self, name: &str, password: String) -> Result<(), AuthError> {
        if self.current_limiter.check_key(&name.to_string()).is_err() {
            tracing::warn!(account = %name, "current-password checks rate limited");
            return Err(AuthError::RateLimited(60));
        }
        let hash = self
            .store()?
            .credentials(name)
            .map_err(unavailable)?
            .map(|(hash, _)| hash);
        let Some(hash) = hash else {
            return Err(AuthError::NoSuchAccount(name.to_string()));
        };
        if self.hashing(move || Ok(password::verify(&password, &hash))).await? {
            Ok(())
        } else {
            tracing::info!(account = %name, "wrong current password on a password change");
            Err(AuthError::WrongCurrent)
        }
    }

    fn new_session(&self, account: &str, role: Role) -> Result<NewSession, AuthError> {
        let token = random_token()?;
        let ttl = self.options.session_ttl;
        let stored = StoredSession {
            id: session_id(&token),
            account: account.to_string(),
            role,
            expires: now_s() + ttl.as_secs() as i64,
        };
        self.store()?.insert_session(&stored, now_ms()).map_err(unavailable)?;
        self.sessions
            .write()
            .expect("sessions lock")
            .insert(stored.id, Session::new(stored.account, role, stored.expires));
        Ok(NewSession { token, ttl })
    }

    fn drop_sessions(&self, account: &str, keep: Option<&str>) -> Result<usize, AuthError> {
        let ids = self.store()?.delete_sessions_of(account, keep).map_err(unavailable)?;
        let mut sessions = self.sessions.write().expect("sessions lock");
        for id in &ids {
            sessions.remove(id);
        }
        Ok(ids.len())
    }

    fn store(&self) -> Result<std::sync::MutexGuard<'_, AuthStore>, AuthError> {
        self.store
            .lock()
            .map_err(|_| AuthError::Unavailable("account store lock poisoned".into()))
    }

    /// Forgets rate-limit state of addresses that have been quiet, and
    /// expired sessions (in memory, closing their sockets, and on disk).
    pub fn tidy(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
        let now = now_s();
        self.sessions
            .write()
            .expect("sessions lock")
            .retain(|_, s| s.expires > now);
        // A read-only store (a read-only data dir) keeps its expired rows.
        match self.store().map(|store| {
            if store.is_read_only() {
                Ok(0)
            } else {
                store.delete_expired(now)
            }
        }) {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => tracing::warn!(%err, "could not delete expired sessions"),
            Err(err) => tracing::warn!(%err, "could not delete expired sessions"),
        }
    }

    /// The client's address: the peer, or, when the peer is a trusted
    /// proxy, the client its `X-Forwarded-For` names.
    pub fn client_addr(&self, headers: &HeaderMap, peer: IpAddr) -> IpAddr {
        self.options.proxies.client_addr(headers, peer)
    }

    /// Whether the browser reached Vigil over HTTPS (Vigil's own TLS, or a
    /// trusted proxy's `X-Forwarded-Proto`): cookies get `Secure`.
    pub fn https(&self, headers: &HeaderMap, peer: IpAddr) -> bool {
        self.options.secure_cookies || self.options.proxies.forwarded_https(headers, peer)
    }
}

#[async_trait::async_trait]
impl app::auth::Accounts for Auth {
    async fn list(&self) -> Result<Vec<Account>, AuthError> {
        self.store()?.accounts(now_s()).map_err(unavailable)
    }

    async fn add(&self, name: String, password: String, role: Role) -> Result<(), AuthError> {
        let hash = self.hashing(move || password::hash(&password)).await?;
        if !self
            .store()?
            .insert_account(&name, role, &hash, now_ms())
            .map_err(unavailable)?
        {
            return Err(AuthError::Exists(name));
        }
        self.accounts_exist();
        tracing::info!(account = %name, role = role.as_str(), "added an account");
        Ok(())
    }

    async fn remove(&self, name: String) -> Result<(), AuthError> {
        let store = self.store()?;
        let Some((_, role)) = store.credentials(&name).map_err(unavailable)? else {
            return Err(AuthError::NoSuchAccount(name));
        };
        if role == Role::Admin && store.admin_count().map_err(unavailable)? <= 1 {
            return Err(AuthError::LastAdmin);
        }
        store.delete_account(&name).map_err(unavailable)?;
        let left = store.account_count().map_err(unavailable)?;
        drop(store);
        self.has_accounts.store(left > 0, Ordering::Release);
        self.sessions
            .write()
            .expect("sessions lock")
            .retain(|_, s| s.account != name);
        tracing::info!(account = %name, "removed an account and its sessions");
        Ok(())
    }

    async fn set_password(
        &self,
        name: String,
        password: String,
        keep_session: Option<String>,
        current: Option<String>,
    ) -> Result<(), AuthError> {
        if let Some(current) = current {
            self.check_current(&name, current).await?;
        }
        let hash = self.hashing(move || password::hash(&password)).await?;
        if !self.store()?.set_hash(&name, &hash).map_err(unavailable)? {
            return Err(AuthError::NoSuchAccount(name));
        }
        let dropped = self.drop_sessions(&name, keep_session.as_deref())?;
        tracing::info!(account = %name, signed_out = dropped, "changed a password");
        Ok(())
    }

    async fn sign_out(&self, name: String) -> Result<usize, AuthError> {
        if self.store()?.credentials(&name).map_err(unavailable)?.is_none() {
            return Err(AuthError::NoSuchAccount(name));
        }
        let dropped = self.drop_sessions(&name, None)?;
        tracing::info!(account = %name, signed_out = dropped, "signed out an account everywhere");
        Ok(dropped)
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AuthError> + Send + 'static,
) -> Result<T, AuthError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(AuthError::Unavailable(format!("account task failed: {e}"))))
}

fn unavailable(err: rusqlite::Error) -> AuthError {
    tracing::error!(%err, "account database error");
    AuthError::Unavailable(err.to_string())
}

/// The session token in a request's cookies.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|token| token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A session's id: the hex SHA-256 of its token.
pub fn session_id(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// 32 random bytes from the OS, in hex.
fn random_token() -> Result<String, AuthError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AuthError::Unavailable(format!("no randomness: {e}")))?;
    Ok(hex(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Reads a secret from a file (trailing newline dropped); a clear error
/// names the file, never the content.
pub fn read_secret(path: &Path) -> std::io::Result<String> {
    let text = std::fs::read_to_string(path)?;
    let secret = text.trim_end_matches(['\n', '\r']).to_string();
    if secret.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the file is empty",
        ));
    }
    Ok(secret)
}

fn now_ms() -> i64 {
    crate::signals::clock::now_ms()
}

fn now_s() -> i64 {
    now_ms() / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(dir: &Path, loopback: bool) -> AuthOptions {
        AuthOptions {
            data_dir: dir.to_path_buf(),
            loopback,
            session_ttl: Duration::from_secs(3600),
            attempts_per_minute: 3,
            metrics_token: Some("scrape-me".into()),
            bootstrap_admin: None,
            secure_cookies: false,
            proxies: TrustedProxies::none(),
            names: SiteNames::default(),
        }
    }

    fn cookie(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("cookie", format!("theme=dark; {COOKIE}={token}").parse().unwrap());
        headers
    }

    #[test]
    fn open_only_on_loopback_without_accounts() {
        let dir = tempfile::tempdir().unwrap();
        let local = Auth::open(options(dir.path(), true)).unwrap();
        assert!(local.is_open());
        let (who, session) = local.identify(&HeaderMap::new()).unwrap();
        assert!(who.is_open() && who.is_admin() && session.is_none());

        let dir = tempfile::tempdir().unwrap();
        let exposed = Auth::open(options(dir.path(), false)).unwrap();
        assert!(!exposed.is_open());
        assert!(exposed.identify(&HeaderMap::new()).is_none());
    }

    #[tokio::test]
    async fn a_session_signs_in_survives_a_restart_and_signs_out() {
        let dir = tempfile::tempdir().unwrap();
        let auth = Auth::open(options(dir.path(), true)).unwrap();
        let client: IpAddr = "192.0.2.1".parse().unwrap();
        let first = auth
            .set_up("root".into(), "correct horse".into(), client)
            .await
            .unwrap();
        assert!(!auth.is_open(), "an account closes the open doors");
        assert!(auth.identify(&HeaderMap::new()).is_none());
        assert_eq!(
            auth.set_up("late".into(), "correct horse".into(), client).await.err(),
            Some(AuthError::SetupDone)
        );
        drop(auth);

        let auth = Auth::open(options(dir.path(), true)).unwrap();
        let (who, id) = auth.identify(&cookie(&first.token)).expect("the session survived");
        assert_eq!(who.name.as_deref(), Some("root"));
        assert_eq!(who.role, Role::Admin);
        auth.end_session(id.unwrap()).await.unwrap();
        assert!(auth.identify(&cookie(&first.token)).is_none());
    }

    #[tokio::test]
    async fn wrong_passwords_and_unknown_names_look_the_same_and_are_rate_limited() {
        let dir = tempfile::tempdir().unwrap();
        let auth = Auth::open(options(dir.path(), false)).unwrap();
        auth.set_up("root".into(), "correct horse".into(), "192.0.2.250".parse().unwrap())
            .await
            .unwrap();
        let client: IpAddr = "192.0.2.7".parse().unwrap();
        let wrong = auth.sign_in("root".into(), "wrong horse".into(), client).await.err();
        let unknown = auth
            .sign_in("nobody".into(), "correct horse".into(), client)
            .await
            .err();
        assert_eq!(wrong, Some(AuthError::BadCredentials));
        assert_eq!(unknown, Some(AuthError::BadCredentials));
        assert!(auth
            .sign_in("root".into(), "correct horse".into(), client)
            .await
            .is_ok());
        // Three per minute: the fourth is refused, even with the right password.
        match auth.sign_in("root".into(), "correct horse".into(), client).await {
            Err(AuthError::RateLimited(wait)) => assert!((1..=60).contains(&wait), "{wait}"),
            other => panic!("expected the rate limit, got {:?}", other.map(|_| ())),
        }
        let other_client: IpAddr = "192.0.2.8".parse().unwrap();
        assert!(auth
            .sign_in("root".into(), "correct horse".into(), other_client)
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn removing_or_repassing_an_account_ends_its_sessions() {
        use app::auth::Accounts;
        let dir = tempfile::tempdir().unwrap();
        let auth = Auth::open(options(dir.path(), false)).unwrap();
        auth.set_up("root".into(), "correct horse".into(), "192.0.2.250".parse().unwrap())
            .await
            .unwrap();
        auth.add("eve".into(), "viewer pass".into(), Role::Viewer)
            .await
            .unwrap();
        assert_eq!(
            auth.add("eve".into(), "viewer pass".into(), Role::Viewer).await,
            Err(AuthError::Exists("eve".into()))
        );
        let client: IpAddr = "192.0.2.1".parse().unwrap();
        let one = auth.sign_in("eve".into(), "viewer pass".into(), client).await.unwrap();
        let two = auth.sign_in("eve".into(), "viewer pass".into(), client).await.unwrap();
        let keep = session_id(&two.token);
        assert_eq!(
            auth.set_password("eve".into(), "new viewer pass".into(), None, Some("not it".into()))
                .await,
            Err(AuthError::WrongCurrent),
            "a wrong current password changes nothing"
        );
        assert!(auth.identify(&cookie(&one.token)).is_some());
        auth.set_password(
            "eve".into(),
            "new viewer pass".into(),
            Some(keep),
            Some("viewer pass".into()),
        )
        .await
        .unwrap();
        assert!(auth.identify(&cookie(&one.token)).is_none(), "other sessions end");
        let (who, _) = auth.identify(&cookie(&two.token)).expect("the caller's own stays");
        assert_eq!(who.role, Role::Viewer);
        assert_eq!(auth.remove("root".into()).await, Err(AuthError::LastAdmin));
        auth.remove("eve".into()).await.unwrap();
        assert!(auth.identify(&cookie(&two.token)).is_none());
        assert_eq!(
            auth.remove("eve".into()).await,
            Err(AuthError::NoSuchAccount("eve".into()))
        );
    }

    #[test]
    fn metrics_take_a_bearer_token_off_loopback() {
        let dir = tempfile::tempdir().unwrap();
        let auth = Auth::open(options(dir.path(), false)).unwrap();
        let mut headers = HeaderMap::new();
        assert!(!auth.metrics_allowed(&headers, None));
        headers.insert("authorization", "Bearer wrong".parse().unwrap());
        assert!(!auth.metrics_allowed(&headers, None));
        headers.insert("authorization", "Bearer scrape-me".parse().unwrap());
        assert!(auth.metrics_allowed(&headers, None));
    }

    #[test]
    fn an_open_vigil_serves_only_local_requests() {
        let dir = tempfile::tempdir().unwrap();
        let local = Auth::open(options(dir.path(), true)).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("host", "127.0.0.1:3000".parse().unwrap());
        assert!(local.identify(&headers).is_some());
        assert!(local.metrics_allowed(&headers, None));
        // A rebound name: not this machine's browser.
        headers.insert("host", "rebound.example:3000".parse().unwrap());
        assert_eq!(
            local.local(&headers),
            Err(NotLocal::Host("rebound.example:3000".into()))
        );
        assert!(local.identify(&headers).is_none());
        assert!(!local.metrics_allowed(&headers, None));
        // Through a proxy nobody declared: not local either.
        headers.insert("host", "127.0.0.1:3000".parse().unwrap());
        headers.insert("x-forwarded-for", "203.0.113.9".parse().unwrap());
        assert_eq!(local.local(&headers), Err(NotLocal::Proxied));
        assert!(local.identify(&headers).is_none());
        assert!(!local.metrics_allowed(&headers, None));
    }

    #[tokio::test]
    async fn setup_after_setup_is_refused_before_hashing_and_setup_is_rate_limited() {
        let dir = tempfile::tempdir().unwrap();
        let auth = Auth::open(options(dir.path(), false)).unwrap();
        let client: IpAddr = "2001:db8::1".parse().unwrap();
        // Three a minute per client, shared with sign-in, per /64.
        for _ in 0..3 {
            assert_eq!(
                auth.set_up("root".into(), "short".into(), client).await.err(),
                Some(AuthError::BadPassword)
            );
        }
        let neighbour: IpAddr = "2001:db8::ffff".parse().unwrap();
        assert!(matches!(
            auth.set_up("root".into(), "correct horse".into(), neighbour).await,
            Err(AuthError::RateLimited(_))
        ));
        let elsewhere: IpAddr = "2001:db8:0:1::1".parse().unwrap();
        auth.set_up("root".into(), "correct horse".into(), elsewhere)
            .await
            .unwrap();
        // Done: refused at once, with no hash slot taken and no limit spent.
        let _slots = auth
            .hashing
            .clone()
            .acquire_many_owned(hash_slots() as u32)
            .await
            .unwrap();
        let refused = tokio::time::timeout(
            Duration::from_millis(200),
            auth.set_up("late".into(), "correct horse".into(), elsewhere),
        )
        .await
        .expect("answered without waiting for a hash slot");
        assert_eq!(refused.err(), Some(AuthError::SetupDone));
    }

    #[test]
    fn the_first_account_ends_the_open_sockets() {
        let dir = tempfile::tempdir().unwrap();
        let auth = Auth::open(options(dir.path(), true)).unwrap();
        let open = auth.socket_end(None).ended;
        assert!(!open.is_cancelled());
        auth.create_first("root", "correct horse").unwrap();
        assert!(open.is_cancelled(), "an account closes the open Vigil's sockets");
        assert!(auth.socket_end(Some("no-such-session")).ended.is_cancelled());
    }

    #[test]
    fn only_well_formed_session_cookies_are_read() {
        assert_eq!(session_cookie(&cookie(&"a".repeat(64))), Some("a".repeat(64)));
        assert_eq!(session_cookie(&cookie("short")), None);
        assert_eq!(session_cookie(&cookie(&"z".repeat(64))), None);
    }
}
