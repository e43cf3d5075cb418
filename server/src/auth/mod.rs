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
//! Parts: [`store`] (SQLite), [`password`] (argon2), [`gate`] (the
//! middleware), [`routes`] (sign in, sign out, first account).

pub mod gate;
pub mod password;
pub mod routes;
pub mod store;

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use app::auth::{validate_name, validate_password, Account, AuthError, Principal, Role};
use axum::http::HeaderMap;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

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
    /// Client address and scheme come from `X-Forwarded-For`/`-Proto`.
    pub trust_proxy: bool,
}

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
    limiter: DefaultKeyedRateLimiter<IpAddr>,
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
        let auth = Arc::new(Auth {
            store: Mutex::new(store),
            sessions: RwLock::new(sessions),
            has_accounts: AtomicBool::new(has_accounts),
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
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

    /// Who a request is: its session's account, the anonymous admin of an
    /// open Vigil, or nobody. Also returns the session id when there is one.
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
        self.is_open().then_some((
            Principal {
                name: None,
                role: Role::Admin,
            },
            None,
        ))
    }

    /// A token cancelled when the session `id` ends (sign-out, revoked,
    /// expired); `None` for no such live session.
    pub fn session_ended(&self, id: &str) -> Option<CancellationToken> {
        let sessions = self.sessions.read().expect("sessions lock");
        sessions.get(id).map(|s| s.ended.clone())
    }

    /// Whether `/metrics` may answer: open on loopback, else a session or
    /// the configured bearer token.
    pub fn metrics_allowed(&self, headers: &HeaderMap, principal: Option<&Principal>) -> bool {
        if self.options.loopback || principal.is_some() {
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

    /// Signs in, after the rate limit, with the hash check off the async workers.
    pub async fn sign_in(
        self: &Arc<Self>,
        name: String,
        password: String,
        client: IpAddr,
    ) -> Result<NewSession, AuthError> {
        if let Err(not_until) = self.limiter.check_key(&client) {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()));
            tracing::warn!(%client, "sign-in rate limit reached");
            return Err(AuthError::RateLimited(wait.as_secs().max(1)));
        }
        let auth = self.clone();
        blocking(move || {
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

    /// Creates the first admin account and signs it in.
    pub async fn set_up(self: &Arc<Self>, name: String, password: String) -> Result<NewSession, AuthError> {
        let auth = self.clone();
        blocking(move || {
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
        self.has_accounts.store(true, Ordering::Release);
        Ok(())
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
        match self.store().map(|store| store.delete_expired(now)) {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => tracing::warn!(%err, "could not delete expired sessions"),
            Err(err) => tracing::warn!(%err, "could not delete expired sessions"),
        }
    }

    /// The client's address: the peer, or behind a trusted proxy the last
    /// address it appended to `X-Forwarded-For`.
    pub fn client_addr(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> IpAddr {
        let peer = peer.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        if !self.options.trust_proxy {
            return peer;
        }
        headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next_back()
            .and_then(|last| last.trim().parse().ok())
            .unwrap_or(peer)
    }

    /// Whether the browser reached Vigil over HTTPS (directly or, behind a
    /// trusted proxy, as `X-Forwarded-Proto` says): cookies get `Secure`.
    pub fn secure(&self, headers: &HeaderMap) -> bool {
        self.options.secure_cookies
            || (self.options.trust_proxy
                && headers
                    .get("x-forwarded-proto")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|p| p.eq_ignore_ascii_case("https")))
    }
}

#[async_trait::async_trait]
impl app::auth::Accounts for Auth {
    async fn list(&self) -> Result<Vec<Account>, AuthError> {
        self.store()?.accounts(now_s()).map_err(unavailable)
    }

    async fn add(&self, name: String, password: String, role: Role) -> Result<(), AuthError> {
        let hash = hash_off_thread(password).await?;
        if !self
            .store()?
            .insert_account(&name, role, &hash, now_ms())
            .map_err(unavailable)?
        {
            return Err(AuthError::Exists(name));
        }
        self.has_accounts.store(true, Ordering::Release);
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
    ) -> Result<(), AuthError> {
        let hash = hash_off_thread(password).await?;
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

/// Hashes on the blocking pool: argon2 takes tens of milliseconds of CPU.
async fn hash_off_thread(password: String) -> Result<String, AuthError> {
    blocking(move || password::hash(&password)).await
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
    crate::collect::now_ms()
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
            trust_proxy: false,
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
        let first = auth.set_up("root".into(), "correct horse".into()).await.unwrap();
        assert!(!auth.is_open(), "an account closes the open doors");
        assert!(auth.identify(&HeaderMap::new()).is_none());
        assert_eq!(
            auth.set_up("late".into(), "correct horse".into()).await.err(),
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
        auth.set_up("root".into(), "correct horse".into()).await.unwrap();
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
        auth.set_up("root".into(), "correct horse".into()).await.unwrap();
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
        auth.set_password("eve".into(), "new viewer pass".into(), Some(keep))
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
    fn the_client_address_comes_from_the_proxy_only_when_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = options(dir.path(), false);
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "203.0.113.9, 198.51.100.4".parse().unwrap());
        headers.insert("x-forwarded-proto", "https".parse().unwrap());
        let direct = Auth::open(opts.clone()).unwrap();
        assert_eq!(direct.client_addr(&headers, Some(peer)), peer);
        assert!(!direct.secure(&headers));
        drop(direct);
        opts.trust_proxy = true;
        let proxied = Auth::open(opts).unwrap();
        assert_eq!(
            proxied.client_addr(&headers, Some(peer)),
            "198.51.100.4".parse::<IpAddr>().unwrap()
        );
        assert!(proxied.secure(&headers));
    }

    #[test]
    fn only_well_formed_session_cookies_are_read() {
        assert_eq!(session_cookie(&cookie(&"a".repeat(64))), Some("a".repeat(64)));
        assert_eq!(session_cookie(&cookie("short")), None);
        assert_eq!(session_cookie(&cookie(&"z".repeat(64))), None);
    }
}
