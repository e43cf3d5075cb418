//! Accounts and sessions: opening the account database, signing in and
//! setting up the first account (rate-limited, hashing off the async
//! workers and one hash per core at most), sessions in memory and on disk,
//! and the user administration the app's pages call.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use app::auth::{validate_name, validate_password, Account, AuthError, Role};
use governor::{Quota, RateLimiter};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::cookie::{random_token, session_id};
use super::proxy::rate_key;
use super::store::{AuthStore, StoredSession};
use super::{hash_slots, password, Auth, AuthOptions, AuthStartError, NewSession, Session, HASH_WAIT};
use crate::signals::clock::{now_ms, now_s};

/// Requests a second one client may make to the public status doors
/// (pages, their JSON, feeds, badges), and the burst: far above a person
/// refreshing, far below a flood.
const PUBLIC_PER_SECOND: u32 = 10;
const PUBLIC_BURST: u32 = 100;

impl Auth {
    /// Opens the account database, loads live sessions, and creates the
    /// configured admin when there is no account yet.
    pub(crate) fn open(options: AuthOptions) -> Result<Arc<Auth>, AuthStartError> {
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
            public_limiter: RateLimiter::keyed(
                Quota::per_second(NonZeroU32::new(PUBLIC_PER_SECOND).expect("non-zero"))
                    .allow_burst(NonZeroU32::new(PUBLIC_BURST).expect("non-zero")),
            ),
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
    pub(crate) fn has_accounts(&self) -> bool {
        self.has_accounts.load(Ordering::Acquire)
    }

    /// Counts one unauthenticated attempt that hashes (sign-in, setup) from `client`.
    fn limit(&self, client: IpAddr, what: &str) -> Result<(), AuthError> {
        self.limiter.check_key(&rate_key(client)).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()));
            tracing::warn!(%client, what, "rate limit reached");
            AuthError::RateLimited(wait.as_secs().max(1))
        })
    }

    /// Counts one request to a public status door from `client`; the
    /// seconds to wait when over the limit. Loopback (a local proxy, the
    /// benchmarks) is not limited.
    pub(crate) fn limit_public(&self, client: IpAddr) -> Result<(), u64> {
        if client.is_loopback() {
            return Ok(());
        }
        self.public_limiter.check_key(&rate_key(client)).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()));
            wait.as_secs().max(1)
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
    pub(crate) async fn sign_in(
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
    pub(crate) async fn set_up(
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
    pub(crate) async fn end_session(self: &Arc<Self>, id: String) -> Result<(), AuthError> {
        let auth = self.clone();
        blocking(move || {
            auth.store()?.delete_session(&id).map_err(unavailable)?;
            auth.sessions.write().expect("sessions lock").remove(&id);
            Ok(())
        })
        .await
    }

    pub(super) fn create_first(&self, name: &str, password: &str) -> Result<(), AuthError> {
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
    pub(crate) fn tidy(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
        self.public_limiter.retain_recent();
        self.public_limiter.shrink_to_fit();
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
