//! A test environment: a fresh database, the Graph API simulator over real HTTP, Graph
//! clients for both login flavours pointed at it, the simulator's accounts registered with
//! encrypted tokens, and an engine — all on one manual clock that moves the engine, the
//! clients and the simulator together.

use std::net::SocketAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use simulator::{ApiVersion, GroundTruth, SimAccount, SimConfig, SimServer};
use store::{Account, AccountId, Cipher, RunQuery, SecretKey, SyncRun, SyncStep};
use sync::{Clock, Engine, EngineConfig, Plan, SyncSettings};

use crate::db::{Dialect, TestDb};

pub(crate) struct Env {
    pub(crate) db: TestDb,
    pub(crate) sim: SimServer,
    pub(crate) engine: Engine,
    pub(crate) clock: Clock,
    pub(crate) graph_clock: graph::Clock,
    pub(crate) clients: sync::GraphClients,
    pub(crate) cipher: Cipher,
    /// Registered accounts, in the simulator's order.
    pub(crate) accounts: Vec<(AccountId, SimAccount)>,
}

/// Settings for tests: no start limiter, quick polling.
pub(crate) fn test_settings() -> SyncSettings {
    SyncSettings {
        concurrency: 4,
        syncs_per_minute: 0,
        poll_interval: Duration::from_millis(50),
        ..SyncSettings::default()
    }
}

pub(crate) fn sim_config(seed: u64, accounts: usize, media: usize) -> SimConfig {
    let mut c = SimConfig::new(seed, accounts, media);
    c.timeout_hold = Duration::from_millis(1500);
    // Noon UTC yesterday: a few hours of simulated time never cross a day boundary.
    let yesterday = today() - chrono::Duration::days(1);
    c.now = yesterday.and_hms_opt(12, 0, 0).unwrap().and_utc();
    c
}

/// The day the tests take for today: `IGSYNC_TEST_TODAY` (`YYYY-MM-DD`) when set, to run
/// the tests as on another day (a month's or a year's end, a Monday), else today (UTC).
fn today() -> chrono::NaiveDate {
    match std::env::var("IGSYNC_TEST_TODAY") {
        Ok(day) => day
            .parse()
            .unwrap_or_else(|e| panic!("IGSYNC_TEST_TODAY={day:?} is not YYYY-MM-DD: {e}")),
        Err(_) => Utc::now().date_naive(),
    }
}

impl Env {
    pub(crate) async fn new(d: Dialect, sim: SimConfig, settings: SyncSettings) -> Env {
        let db = TestDb::new(d).await;
        let sim = SimServer::start(sim, SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let clock = Clock::manual(sim.now());
        // The clients' clock (tokens' lifetimes) runs on the wall clock, moved to the day
        // the tests take for today.
        let graph_clock = graph::Clock::offset();
        graph_clock.advance(today() - Utc::now().date_naive());
        let clients = testsupport::sim_clients(&sim.url(), &graph_clock, Some("test-app-secret"));
        let cipher = Cipher::new(&SecretKey::generate().unwrap());
        let accounts =
            testsupport::register_sim_accounts(&db.store, &sim, &cipher, clock.now(), |n| n).await;
        let engine = Engine::new(EngineConfig {
            store: db.store.clone(),
            graph: clients.clone(),
            cipher: Some(cipher.clone()),
            settings,
            clock: clock.clone(),
        })
        .unwrap();
        Env {
            db,
            sim,
            engine,
            clock,
            graph_clock,
            clients,
            cipher,
            accounts,
        }
    }

    /// Another engine on another connection to the same database (a second worker process)
    /// sharing the clients and the clock.
    pub(crate) async fn second_engine(&self, settings: SyncSettings) -> Engine {
        Engine::new(EngineConfig {
            store: self.db.connect_again().await,
            graph: self.clients.clone(),
            cipher: Some(self.cipher.clone()),
            settings,
            clock: self.clock.clone(),
        })
        .unwrap()
    }

    /// Moves the engine's, the clients' and the simulator's clocks together.
    pub(crate) fn advance(&self, by: chrono::Duration) {
        self.clock.advance(by);
        self.graph_clock.advance(by);
        self.sim.advance_clock(by);
    }

    /// [`Env::advance`] to the instant `at` (not before now).
    pub(crate) fn advance_to(&self, at: DateTime<Utc>) {
        self.advance(at - self.now());
    }

    /// Moves the engine's and the clients' clocks only: the simulated world (and so its
    /// ground truth) stays where it is.
    pub(crate) fn advance_engine(&self, by: chrono::Duration) {
        self.clock.advance(by);
        self.graph_clock.advance(by);
    }

    /// Runs the engine until no job is pending: whenever only future jobs remain (retries,
    /// snoozes), the engine's clock jumps to the earliest. Returns the number of jumps.
    /// Stories' final reads, queued for shortly before each story expires, are not waited
    /// for: they belong to the stories' lifetime, not to the sync that queued them.
    pub(crate) async fn run_until_settled(&self, max_jumps: usize) -> usize {
        for jump in 0..=max_jumps {
            let stats = self.engine.run_until_idle().await.unwrap();
            let _ = stats;
            let pending = self
                .db
                .store
                .job_list(store::JobQuery {
                    states: vec![store::JobState::Pending, store::JobState::Running],
                    limit: 1000,
                    ..Default::default()
                })
                .await
                .unwrap();
            let Some(next) = pending
                .jobs
                .iter()
                .filter(|j| j.kind != sync::plan::KIND_STORY_FINAL_READ)
                .map(|j| j.run_at)
                .min()
            else {
                return jump;
            };
            let wait = next - self.now();
            if wait > chrono::Duration::zero() {
                self.advance_engine(wait + chrono::Duration::milliseconds(1));
            }
        }
        panic!("jobs still pending after {max_jumps} clock jumps");
    }

    /// Queues a full manual sync of the account and runs it to the end
    /// ([`Env::run_until_settled`] with at most `max_jumps` clock jumps).
    pub(crate) async fn full_sync(&self, account: AccountId, max_jumps: usize) -> usize {
        self.engine
            .enqueue_sync(account, Plan::Full, "manual")
            .await
            .unwrap();
        self.run_until_settled(max_jumps).await
    }

    pub(crate) fn account(&self, n: usize) -> (AccountId, &SimAccount) {
        let (id, a) = &self.accounts[n];
        (*id, a)
    }

    pub(crate) async fn jobs_of(&self, account: AccountId) -> Vec<store::Job> {
        let mut jobs = self
            .db
            .store
            .job_list(store::JobQuery {
                account_id: Some(account),
                limit: 1000,
                ..Default::default()
            })
            .await
            .unwrap()
            .jobs;
        jobs.sort_by_key(|j| j.id);
        jobs
    }

    /// The account as stored, which must be idle: otherwise its last error is the message.
    pub(crate) async fn idle_account(&self, account: AccountId) -> Account {
        let account = self.db.store.account_get(account).await.unwrap().unwrap();
        sync::testkit::assert_idle(&account);
        account
    }

    /// The simulator's ground truth of an account on the pinned version (v25).
    pub(crate) fn truth(&self, sim_account: &SimAccount) -> GroundTruth {
        self.sim
            .ground_truth(&sim_account.ig_user_id, ApiVersion::V25)
            .unwrap()
    }

    /// The runs of the account (of every account with `None`), newest first.
    pub(crate) async fn runs(&self, account: Option<AccountId>) -> Vec<SyncRun> {
        self.db
            .store
            .sync_runs_list(RunQuery {
                account_id: account,
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap()
    }

    /// The newest run of the account with its steps.
    pub(crate) async fn last_run(&self, account: AccountId) -> (SyncRun, Vec<SyncStep>) {
        let runs = self
            .db
            .store
            .sync_runs_list(RunQuery {
                account_id: Some(account),
                limit: 1,
                ..Default::default()
            })
            .await
            .unwrap();
        self.db
            .store
            .sync_run_get(runs[0].id)
            .await
            .unwrap()
            .unwrap()
    }

    /// The step named `step` of the account's newest run.
    pub(crate) async fn last_run_step(&self, account: AccountId, step: &str) -> SyncStep {
        let (_, steps) = self.last_run(account).await;
        steps
            .into_iter()
            .find(|s| s.step == step)
            .unwrap_or_else(|| panic!("a {step} step"))
    }

    /// Requests the Graph clients (both login flavours) made to `endpoint` so far.
    pub(crate) fn requests_to(&self, endpoint: &str) -> u64 {
        self.clients.values().fold(0, |n, c| {
            n + c.stats().by_endpoint.get(endpoint).copied().unwrap_or(0)
        })
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub(crate) async fn teardown(self) {
        self.sim.shutdown().await;
        self.db.teardown().await;
    }
}
