//! The simulator's shared state: the immutable world plus what changes while it runs (the
//! clock, tokens, removed metrics, deleted media, revisions, login codes, webhook
//! subscriptions, fault settings, budgets and counters).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::budget::Budgets;
use crate::config::{FaultMix, SimConfig};
use crate::dialog::LoginAuto;
use crate::edge_cases;
use crate::hash::{self, h, hs};
use crate::login::{AuthCode, LoginUsers};
use crate::numbers::{self, DayValues};
use crate::stats::Counters;
use crate::time::{DAY, to_utc};
use crate::version::ApiVersion;
use crate::webhooks::Hub;
use crate::world::{AccountType, LoginKind, MediaRef, World};

/// The clock never goes past 2200-01-01 (Unix milliseconds).
pub(crate) const MAX_CLOCK_MS: i64 = 7_258_118_400_000;

/// One simulated account as seen by scripts and tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimAccount {
    /// The Instagram professional account id used in `/{ig-user-id}/…` paths.
    pub ig_user_id: String,
    /// `@username`.
    pub username: String,
    /// Display name.
    pub name: String,
    /// `BUSINESS` or `MEDIA_CREATOR`.
    pub account_type: AccountType,
    /// Facebook Login or Instagram Login.
    pub login: LoginKind,
    /// The Facebook Page connected to the account (Facebook Login only).
    pub page_id: Option<String>,
    /// The Facebook user id (Facebook Login) or the app-scoped Instagram id returned as `id`
    /// by `/me` (Instagram Login).
    pub me_id: String,
    /// The newest valid long-lived user token.
    pub access_token: String,
    /// When that token expires.
    pub token_expires_at: DateTime<Utc>,
    /// Followers at the simulated now.
    pub followers_count: u64,
    /// Published posts at the simulated now.
    pub media_count: u64,
}

/// A token the simulator knows.
#[derive(Debug, Clone)]
pub(crate) struct TokenRec {
    pub(crate) acct: usize,
    pub(crate) login: LoginKind,
    pub(crate) issued_at: i64,
    /// `None` for page tokens, which do not expire.
    pub(crate) expires_at: Option<i64>,
    pub(crate) page: bool,
    /// What a token minted by a login flow may do; `None` for the seeded tokens, which hold
    /// every permission of their login kind.
    pub(crate) grant: Option<Arc<Grant>>,
}

/// The permissions and owner of a token minted by a login flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    /// The Facebook login user (index into the login users) of a Facebook Login token.
    pub(crate) user: Option<usize>,
    /// Scopes granted, in request order.
    pub(crate) granted: Vec<String>,
    /// Scopes the user declined.
    pub(crate) declined: Vec<String>,
    /// A short-lived token, to be exchanged for a long-lived one.
    pub(crate) short_lived: bool,
    /// The token of a Page without an Instagram account.
    pub(crate) bare_page: bool,
}

impl Grant {
    pub(crate) fn has(&self, scope: &str) -> bool {
        self.granted.iter().any(|s| s == scope)
    }
}

/// An account's webhook subscription (`POST /{ig-user-id}/subscribed_apps`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Subscription {
    pub(crate) fields: Vec<String>,
    /// Simulated time of the (latest) subscription: events after it are delivered.
    pub(crate) since: i64,
}

/// What an id resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Obj {
    /// An Instagram professional account (`app_scoped` when addressed by its app-scoped id).
    User { acct: usize, app_scoped: bool },
    /// The Facebook Page of a Facebook-Login account.
    Page(usize),
    /// The Facebook user behind a Facebook-Login account.
    FbUser(usize),
    /// A post, album child or story.
    Media(MediaRef),
    /// A Facebook login user (the person who runs Facebook Login).
    LoginUser(usize),
    /// The Page of a login user that has no Instagram account.
    BarePage(usize),
}

impl Obj {
    /// The Instagram account the object belongs to (none for a login user or a bare Page).
    pub(crate) fn account(&self) -> Option<usize> {
        match *self {
            Obj::User { acct, .. } | Obj::Page(acct) | Obj::FbUser(acct) => Some(acct),
            Obj::Media(MediaRef::Post { acct, .. })
            | Obj::Media(MediaRef::Child { acct, .. })
            | Obj::Media(MediaRef::Story { acct, .. }) => Some(acct),
            Obj::LoginUser(_) | Obj::BarePage(_) => None,
        }
    }
}

/// The parts that change at run time.
#[derive(Debug)]
pub(crate) struct Mutable {
    pub(crate) tokens: HashMap<String, TokenRec>,
    pub(crate) current: Vec<String>,
    pub(crate) removed_metrics: HashSet<String>,
    /// Metrics withdrawn from a version on (and every later version).
    pub(crate) withdrawn_from: HashMap<String, ApiVersion>,
    /// (metric, breakdown) pairs answered with Meta's generic "unknown error" (code 1), as
    /// for a breakdown the metric does not support.
    pub(crate) refused_breakdowns: HashSet<(String, String)>,
    pub(crate) deleted: HashSet<MediaRef>,
    pub(crate) fault_rate: f64,
    pub(crate) fault_mix: FaultMix,
    /// Faults hit only requests whose path ends with this (e.g. `/media`); all when None.
    pub(crate) fault_path: Option<String>,
    pub(crate) edges: bool,
    /// Revisions asked for through the control API: (account, day) → (from when, factor).
    pub(crate) revisions: HashMap<(usize, NaiveDate), Vec<(i64, f64)>>,
    /// Authorization codes of the login flows.
    pub(crate) codes: HashMap<String, AuthCode>,
    /// Scopes each login user declined (keyed by the user's id), remembered across dialogs.
    pub(crate) declined: HashMap<String, BTreeSet<String>>,
    /// Webhook subscriptions per account.
    pub(crate) subscriptions: BTreeMap<usize, Subscription>,
    /// Consent given at once by every dialog.
    pub(crate) login_auto: Option<LoginAuto>,
    pub(crate) issued: u64,
    /// Page tokens derived again after the seeded one was invalidated, by account.
    pub(crate) page_tokens: HashMap<usize, String>,
}

/// Everything the handlers share.
#[derive(Debug)]
pub(crate) struct SimState {
    pub(crate) config: SimConfig,
    pub(crate) world: World,
    /// Public accounts that are not ours, for Business Discovery.
    pub(crate) competitors: Vec<crate::competitors::Competitor>,
    clock_ms: AtomicI64,
    seq: AtomicU64,
    pub(crate) base_url: OnceLock<String>,
    ids: HashMap<String, Obj>,
    mutable: RwLock<Mutable>,
    budgets: Mutex<Budgets>,
    stats: Mutex<Counters>,
    pub(crate) app_id: String,
    pub(crate) app_secret: String,
    pub(crate) logins: LoginUsers,
    pub(crate) hub: Hub,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave these plain counters inconsistent.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl SimState {
    pub(crate) fn new(config: SimConfig) -> SimState {
        let world = World::generate(&config);
        let mut tokens = HashMap::with_capacity(world.accounts.len() * 2);
        let mut current = Vec::with_capacity(world.accounts.len());
        let mut ids = HashMap::with_capacity(world.accounts.len() * 4);
        for a in &world.accounts {
            tokens.insert(
                a.token.token.clone(),
                TokenRec {
                    acct: a.idx,
                    login: a.login,
                    issued_at: a.token.issued_at,
                    expires_at: Some(a.token.expires_at),
                    page: false,
                    grant: None,
                },
            );
            current.push(a.token.token.clone());
            if let Some(pt) = &a.page_token {
                tokens.insert(
                    pt.clone(),
                    TokenRec {
                        acct: a.idx,
                        login: LoginKind::Facebook,
                        issued_at: a.token.issued_at,
                        expires_at: None,
                        page: true,
                        grant: None,
                    },
                );
            }
            ids.insert(
                a.ig_user_id.clone(),
                Obj::User {
                    acct: a.idx,
                    app_scoped: false,
                },
            );
            match a.login {
                LoginKind::Facebook => {
                    ids.insert(a.page_id.clone(), Obj::Page(a.idx));
                    ids.insert(a.fb_user_id.clone(), Obj::FbUser(a.idx));
                }
                LoginKind::Instagram => {
                    ids.insert(
                        a.app_scoped_id.clone(),
                        Obj::User {
                            acct: a.idx,
                            app_scoped: true,
                        },
                    );
                }
            }
        }
        let limits = world.accounts.iter().map(|a| a.budget).collect();
        let mut budgets = Budgets::new(config.rate_limit_window, limits, config.app_budget);
        if config.rate_limit_window_on_sim_clock {
            budgets = budgets.on_sim_clock(config.now.timestamp_millis());
        }
        let app_id = config.app_id.clone().unwrap_or_else(|| {
            (1_000_000_000_000_000u64 + h(&[config.seed, hs("app")]) % 1_000_000_000_000)
                .to_string()
        });
        let app_secret = config.app_secret.clone().unwrap_or_else(|| {
            hash::encode(h(&[config.seed, hs("app-secret")]), b"0123456789abcdef", 32)
        });
        let logins = LoginUsers::generate(&world);
        for (u, user) in logins.facebook.iter().enumerate() {
            ids.insert(user.id.clone(), Obj::LoginUser(u));
            if let Some(p) = &user.bare_page {
                ids.insert(p.id.clone(), Obj::BarePage(u));
                tokens.insert(
                    p.token.clone(),
                    TokenRec {
                        acct: user.accounts.first().copied().unwrap_or(0),
                        login: LoginKind::Facebook,
                        issued_at: world.start - 30 * DAY,
                        expires_at: None,
                        page: true,
                        grant: Some(Arc::new(Grant {
                            user: Some(u),
                            granted: Vec::new(),
                            declined: Vec::new(),
                            short_lived: false,
                            bare_page: true,
                        })),
                    },
                );
            }
        }
        SimState {
            clock_ms: AtomicI64::new(config.now.timestamp_millis()),
            seq: AtomicU64::new(0),
            base_url: OnceLock::new(),
            ids,
            mutable: RwLock::new(Mutable {
                tokens,
                current,
                removed_metrics: HashSet::new(),
                withdrawn_from: HashMap::new(),
                refused_breakdowns: HashSet::new(),
                deleted: HashSet::new(),
                fault_rate: config.fault_rate,
                fault_path: None,
                fault_mix: config.faults,
                edges: config.edges,
                revisions: HashMap::new(),
                codes: HashMap::new(),
                declined: HashMap::new(),
                subscriptions: BTreeMap::new(),
                login_auto: config.login_auto.clone(),
                issued: 0,
                page_tokens: HashMap::new(),
            }),
            budgets: Mutex::new(budgets),
            stats: Mutex::new(Counters::default()),
            app_id,
            app_secret,
            logins,
            hub: Hub::default(),
            competitors: crate::competitors::generate(config.seed, config.now.timestamp()),
            world,
            config,
        }
    }

    /// The simulated now, in Unix seconds.
    pub(crate) fn now(&self) -> i64 {
        self.clock_ms.load(Ordering::Relaxed).div_euclid(1000)
    }

    /// The simulated now.
    pub(crate) fn now_utc(&self) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp_millis(self.clock_ms.load(Ordering::Relaxed))
            .unwrap_or_default()
    }

    /// Moves the clock forward (negative durations are ignored; the clock stops at
    /// [`MAX_CLOCK_MS`]). Wakes the webhook sender.
    pub(crate) fn advance(&self, by: chrono::Duration) {
        let ms = by.num_milliseconds();
        if ms > 0 {
            let _ = self
                .clock_ms
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| {
                    Some(c.saturating_add(ms).min(MAX_CLOCK_MS))
                });
            self.hub.wake();
        }
    }

    /// Whether the real Graph API's edges are on.
    pub(crate) fn edges(&self) -> bool {
        self.read().edges
    }

    /// Whether a metric is withdrawn for calls served by `version`.
    pub(crate) fn is_withdrawn(&self, metric: &str, version: ApiVersion) -> bool {
        let m = self.read();
        m.removed_metrics.contains(metric)
            || m.withdrawn_from.get(metric).is_some_and(|v| version >= *v)
    }

    /// Whether a metric's breakdown (`age`, `age,gender`, …) is refused with code 1.
    pub(crate) fn is_breakdown_refused(&self, metric: &str, breakdown: &str) -> bool {
        self.read()
            .refused_breakdowns
            .contains(&(metric.to_owned(), breakdown.to_owned()))
    }

    /// The revision factor of an account day at `now`: late revisions of the edges (when
    /// on) times the revisions asked for through the control API.
    pub(crate) fn revision(&self, acct: usize, day: NaiveDate, now: i64) -> f64 {
        let m = self.read();
        let mut f = 1.0;
        if m.edges
            && let Some(r) = edge_cases::late_revision(&self.world, acct, day)
            && now >= r.at
        {
            f *= r.factor;
        }
        if let Some(list) = m.revisions.get(&(acct, day)) {
            for (at, factor) in list {
                if now >= *at {
                    f *= factor;
                }
            }
        }
        f
    }

    /// Account insights of one Pacific day as reported at `now`, revisions included.
    pub(crate) fn day_values(&self, acct: usize, day: NaiveDate, now: i64) -> Option<DayValues> {
        let r = self.revision(acct, day, now);
        numbers::account_day_revised(&self.world, acct, day, now, r)
    }

    /// The next request sequence number (drives faults, jitter and trace ids).
    pub(crate) fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    /// A Meta-looking trace id for a request (and operation inside it).
    pub(crate) fn trace_id(&self, seq: u64, op: u64) -> String {
        hash::encode(
            h(&[self.config.seed, hs("trace"), seq, op]),
            hash::ALNUM,
            23,
        )
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Mutable> {
        self.mutable
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Mutable> {
        self.mutable
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn budgets(&self) -> MutexGuard<'_, Budgets> {
        let mut b = lock(&self.budgets);
        b.set_sim_now(self.clock_ms.load(Ordering::Relaxed));
        b
    }

    pub(crate) fn stats(&self) -> MutexGuard<'_, Counters> {
        lock(&self.stats)
    }

    pub(crate) fn reset_stats(&self) {
        *self.stats() = Counters::default();
    }

    /// Resolves an id visible at `now` (not yet published or deleted media resolve to
    /// nothing).
    pub(crate) fn resolve(&self, id: &str, now: i64) -> Option<Obj> {
        if let Some(o) = self.ids.get(id) {
            return Some(*o);
        }
        let r = self.world.decode_media(id)?;
        let visible = match r {
            MediaRef::Post { acct, idx } => self.world.accounts[acct].posts[idx].ts <= now,
            MediaRef::Child { acct, post, .. } => {
                self.world.accounts[acct].posts[post].ts <= now
                    && !self
                        .read()
                        .deleted
                        .contains(&MediaRef::Post { acct, idx: post })
            }
            MediaRef::Story { acct, slot, n } => {
                self.world.story(acct, slot, n).is_some_and(|s| s.ts <= now)
            }
        };
        (visible && !self.read().deleted.contains(&r)).then_some(Obj::Media(r))
    }

    /// Looks a token up.
    pub(crate) fn token(&self, token: &str) -> Option<TokenRec> {
        self.read().tokens.get(token).cloned()
    }

    /// Issues a new long-lived user token for an account (60 days from now).
    pub(crate) fn issue_token(&self, acct: usize, login: LoginKind) -> (String, i64) {
        let now = self.now();
        let mut m = self.write();
        m.issued += 1;
        let prefix = match login {
            LoginKind::Facebook => "EAAG",
            LoginKind::Instagram => "IGAA",
        };
        let token = format!(
            "{prefix}{}",
            hash::encode(
                h(&[self.world.accounts[acct].key, hs("refresh"), m.issued]),
                hash::ALNUM,
                140
            )
        );
        let expires_at = now + 60 * DAY;
        m.tokens.insert(
            token.clone(),
            TokenRec {
                acct,
                login,
                issued_at: now,
                expires_at: Some(expires_at),
                page: false,
                grant: None,
            },
        );
        m.current[acct] = token.clone();
        (token, expires_at)
    }

    /// Mints a token of a login flow (it does not replace the account's current token).
    pub(crate) fn mint_token(
        &self,
        acct: usize,
        login: LoginKind,
        lifetime: i64,
        grant: Grant,
    ) -> (String, i64) {
        let now = self.now();
        let mut m = self.write();
        m.issued += 1;
        let prefix = match login {
            LoginKind::Facebook => "EAAG",
            LoginKind::Instagram => "IGAA",
        };
        let token = format!(
            "{prefix}{}",
            hash::encode(
                h(&[self.config.seed, hs("minted"), m.issued]),
                hash::ALNUM,
                140
            )
        );
        let expires_at = now + lifetime;
        m.tokens.insert(
            token.clone(),
            TokenRec {
                acct,
                login,
                issued_at: now,
                expires_at: Some(expires_at),
                page: false,
                grant: Some(Arc::new(grant)),
            },
        );
        (token, expires_at)
    }

    /// The Page token `/me/accounts` hands out for an account's Page: the seeded one while it
    /// works; once it was invalidated ([`Self::expire_tokens`]), a fresh one, as Meta derives
    /// a new Page token from the user token of a new login.
    pub(crate) fn page_token(&self, acct: usize) -> Option<String> {
        let seeded = self.world.accounts[acct].page_token.clone()?;
        let now = self.now();
        let mut m = self.write();
        let current = m.page_tokens.get(&acct).cloned().unwrap_or(seeded);
        let valid = m
            .tokens
            .get(&current)
            .is_some_and(|r| r.expires_at.is_none_or(|e| e > now));
        if valid {
            return Some(current);
        }
        m.issued += 1;
        let token = format!(
            "EAAP{}",
            hash::encode(
                h(&[self.config.seed, hs("fresh-page-token"), m.issued]),
                hash::ALNUM,
                140
            )
        );
        m.tokens.insert(
            token.clone(),
            TokenRec {
                acct,
                login: LoginKind::Facebook,
                issued_at: now,
                expires_at: None,
                page: true,
                grant: None,
            },
        );
        m.page_tokens.insert(acct, token.clone());
        Some(token)
    }

    /// Makes every token of an account expired from now on.
    pub(crate) fn expire_tokens(&self, acct: usize) {
        let now = self.now();
        let mut m = self.write();
        for rec in m.tokens.values_mut() {
            if rec.acct == acct {
                rec.expires_at = Some(now - 1);
            }
        }
    }

    /// Index of an account by its ig user id.
    pub(crate) fn account_index(&self, ig_user_id: &str) -> Option<usize> {
        match self.ids.get(ig_user_id) {
            Some(Obj::User { acct, .. }) => Some(*acct),
            _ => None,
        }
    }

    /// Whether an id is known at all (an account, page, user or any media id of the world,
    /// published or not).
    pub(crate) fn id_exists(&self, id: &str) -> bool {
        self.ids.contains_key(id) || self.world.decode_media(id).is_some()
    }

    /// The public view of every account at the simulated now.
    pub(crate) fn accounts(&self) -> Vec<SimAccount> {
        let now = self.now();
        let m = self.read();
        self.world
            .accounts
            .iter()
            .map(|a| {
                let token = m.current[a.idx].clone();
                let expires = m
                    .tokens
                    .get(&token)
                    .and_then(|t| t.expires_at)
                    .unwrap_or(a.token.expires_at);
                SimAccount {
                    ig_user_id: a.ig_user_id.clone(),
                    username: a.username.clone(),
                    name: a.name.clone(),
                    account_type: a.account_type,
                    login: a.login,
                    page_id: (a.login == LoginKind::Facebook).then(|| a.page_id.clone()),
                    me_id: match a.login {
                        LoginKind::Facebook => a.fb_user_id.clone(),
                        LoginKind::Instagram => a.app_scoped_id.clone(),
                    },
                    access_token: token,
                    token_expires_at: to_utc(expires),
                    followers_count: self.world.followers_at(a.idx, now),
                    media_count: self.visible_media_count(a.idx, now, &m.deleted) as u64,
                }
            })
            .collect()
    }

    /// Published, not deleted posts of an account at `now`.
    pub(crate) fn visible_media_count(
        &self,
        acct: usize,
        now: i64,
        deleted: &HashSet<MediaRef>,
    ) -> usize {
        let first = self.world.first_visible(acct, now);
        let n = self.world.accounts[acct].posts.len() - first;
        let gone = deleted
            .iter()
            .filter(|r| matches!(r, MediaRef::Post { acct: a, idx } if *a == acct && *idx >= first))
            .count();
        n - gone
    }
}
