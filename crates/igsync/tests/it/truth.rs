//! Ground truth: compares what the `igsync` processes stored for an account (read through the
//! `Store` trait) with the simulator's ground truth, value by value and row count by row
//! count, so a lost, doubled or wrong row fails the test.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use graph::{GraphClient, GraphConfig, MediaCategory};
use simulator::{GroundTruth, InsightsTruth, SimServer};
use store::{AccountId, DynStore, MediaQuery, RunQuery, RunStatus, StepStatus, Store};
use sync::testkit;

/// The Graph API version the binary pins by default (`graph.api_version`).
pub(crate) const VERSION: simulator::ApiVersion = simulator::ApiVersion::V26;

/// The metric catalog the binary's clients start with, per login flavour.
pub(crate) struct Catalogs {
    clients: HashMap<graph::LoginKind, GraphClient>,
}

impl Catalogs {
    pub(crate) fn new(sim: &SimServer) -> Catalogs {
        let mut clients = HashMap::new();
        for login in [graph::LoginKind::Facebook, graph::LoginKind::Instagram] {
            let cfg = GraphConfig::builder(login, "")
                .base_url(sim.url())
                .version(graph::ApiVersion::V26)
                .build()
                .unwrap();
            clients.insert(login, GraphClient::new(cfg).unwrap());
        }
        Catalogs { clients }
    }
}

/// What was compared, for the recorded figures.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Checked {
    pub(crate) media: u64,
    pub(crate) insight_values: u64,
    pub(crate) stories: u64,
    pub(crate) account_values: u64,
    pub(crate) demographic_values: u64,
}

impl Checked {
    pub(crate) fn add(&mut self, o: Checked) {
        self.media += o.media;
        self.insight_values += o.insight_values;
        self.stories += o.stories;
        self.account_values += o.account_values;
        self.demographic_values += o.demographic_values;
    }

    pub(crate) fn rows(&self) -> u64 {
        self.media
            + self.insight_values
            + self.stories
            + self.account_values
            + self.demographic_values
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "media": self.media,
            "media_insight_values": self.insight_values,
            "stories": self.stories,
            "account_insight_values": self.account_values,
            "demographic_values": self.demographic_values,
            "total": self.rows(),
        })
    }
}

fn requested(
    catalogs: &Catalogs,
    account: &store::Account,
    cat: MediaCategory,
    values: &BTreeMap<String, serde_json::Value>,
) -> BTreeMap<String, f64> {
    testkit::requested(
        &testkit::client_for(&catalogs.clients, account).media_metrics(cat),
        values,
    )
}

/// The account of the simulator's `ig_user_id` as stored, which must be idle: otherwise its
/// last error is the message.
pub(crate) async fn idle_account(store: &dyn Store, ig_user_id: &str) -> store::Account {
    let account = store.account_get_by_ig(ig_user_id).await.unwrap().unwrap();
    testkit::assert_idle(&account);
    account
}

/// The account's runs, newest first.
pub(crate) async fn runs_of(store: &dyn Store, account_id: AccountId) -> Vec<store::SyncRun> {
    store
        .sync_runs_list(RunQuery {
            account_id: Some(account_id),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
}

/// The last succeeded run of the account and its steps.
pub(crate) async fn last_succeeded_run(
    store: &DynStore,
    account_id: AccountId,
) -> (store::SyncRun, Vec<store::SyncStep>) {
    let runs = store
        .sync_runs_list(RunQuery {
            account_id: Some(account_id),
            status: Some(RunStatus::Succeeded),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    let run = runs
        .first()
        .unwrap_or_else(|| panic!("account {account_id} has no succeeded run"));
    store.sync_run_get(run.id).await.unwrap().unwrap()
}

/// Asserts that a succeeded run's steps all succeeded and say their data is complete.
pub(crate) fn assert_run_complete(steps: &[store::SyncStep], who: &str) {
    assert_eq!(steps.len(), 6, "{who}: every step recorded: {steps:?}");
    for s in steps {
        assert!(
            matches!(s.status, StepStatus::Succeeded | StepStatus::Skipped),
            "{who}: {s:?}"
        );
        if s.status == StepStatus::Succeeded && s.step != "account_insights" {
            assert_eq!(
                s.complete,
                Some(true),
                "{who}: step {} complete: {s:?}",
                s.step
            );
        }
    }
}

/// Asserts that every account of the simulator is idle after a complete succeeded sync that
/// stored exactly its ground truth (one capture of each value).
pub(crate) async fn assert_fleet_matches_truth(
    store: &DynStore,
    sim: &SimServer,
    catalogs: &Catalogs,
) -> Checked {
    let mut checked = Checked::default();
    for a in sim.accounts() {
        let account = idle_account(&**store, &a.ig_user_id).await;
        let (_, steps) = last_succeeded_run(store, account.id).await;
        assert_run_complete(&steps, &account.username);
        let truth = sim.ground_truth(&a.ig_user_id, VERSION).unwrap();
        checked.add(assert_matches_truth(store, catalogs, account.id, &truth, 1).await);
    }
    checked
}

/// Compares everything stored for one account with the ground truth. `syncs` is how many
/// succeeded syncs captured snapshots (each must have captured every value exactly once).
pub(crate) async fn assert_matches_truth(
    store: &DynStore,
    catalogs: &Catalogs,
    account_id: AccountId,
    truth: &GroundTruth,
    syncs: usize,
) -> Checked {
    let mut checked = Checked::default();
    let who = truth.profile.username.clone();
    let who = who.as_str();
    let account = store.account_get(account_id).await.unwrap().unwrap();
    testkit::assert_profile_counters(&account, truth);
    let profiles = store
        .profile_snapshots(
            account_id,
            truth.at - Duration::days(3650),
            Utc::now() + Duration::days(1),
        )
        .await
        .unwrap();
    assert_eq!(
        profiles.len(),
        syncs,
        "{who}: one profile snapshot per sync"
    );

    // Posts with their children and latest insights; one snapshot per value and sync.
    let media = store
        .media_list(MediaQuery {
            account_id: Some(account_id),
            include_deleted: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let by_id = testkit::posts_by_id(&media, truth);
    assert_eq!(media.len(), truth.media.len(), "{who}: media rows");
    let ids: Vec<String> = truth.media.iter().map(|m| m.id.clone()).collect();
    let history = store.media_insight_history(&ids, &[]).await.unwrap();
    let mut snapshots: BTreeMap<&str, Vec<&store::InsightSnapshot>> = BTreeMap::new();
    for row in &history {
        snapshots
            .entry(row.ig_media_id.as_str())
            .or_default()
            .push(row);
    }
    let missing = store
        .missing_list(account_id, &[store::MissingKind::MediaInsights])
        .await
        .unwrap();
    let missing_media: BTreeSet<&str> = missing.iter().map(|v| v.key.object_id.as_str()).collect();
    let mut with_values = 0;
    for t in &truth.media {
        let m = by_id[t.id.as_str()];
        let r = &m.record;
        testkit::assert_post_record(m, t);
        assert!(m.deleted_at.is_none(), "{}", t.id);
        checked.media += 1;
        let rows = snapshots.remove(t.id.as_str()).unwrap_or_default();
        match &t.insights {
            InsightsTruth::Values { values, breakdowns } => {
                let expected = requested(catalogs, &account, testkit::category(r), values);
                assert_eq!(m.latest, expected, "{}: latest insights", t.id);
                assert!(m.insights_error.is_none(), "{}", t.id);
                let captures: BTreeSet<DateTime<Utc>> =
                    rows.iter().map(|r| r.captured_at).collect();
                assert_eq!(captures.len(), syncs, "{}: one capture per sync", t.id);
                let totals: Vec<_> = rows.iter().filter(|r| r.breakdown.is_none()).collect();
                assert_eq!(
                    totals.len(),
                    expected.len() * syncs,
                    "{}: no doubled or missing snapshot rows",
                    t.id
                );
                for row in &totals {
                    assert_eq!(
                        Some(&row.value),
                        expected.get(&row.metric),
                        "{}: {row:?}",
                        t.id
                    );
                }
                testkit::assert_breakdown_rows(&t.id, &rows, breakdowns);
                checked.insight_values += rows.len() as u64;
                with_values += 1;
            }
            InsightsTruth::Error { message, .. } => {
                assert!(m.latest.is_empty(), "{}", t.id);
                assert!(rows.is_empty(), "{}: {rows:?}", t.id);
                // Either the refusal's text, or (for posts older than one refused as
                // pre-conversion, never asked) the missing value with its reason.
                match m.insights_error.as_deref() {
                    Some(e) => {
                        assert!(e.contains(message.as_str()), "{}: {e} vs {message}", t.id)
                    }
                    None => assert!(
                        missing_media.contains(t.id.as_str()),
                        "{}: neither an error nor a missing value recorded",
                        t.id
                    ),
                }
            }
        }
    }
    assert!(snapshots.is_empty(), "{who}: snapshots of unknown media");
    assert!(
        with_values > 0 || truth.media.is_empty(),
        "{who}: no insights checked"
    );

    // Live stories and their insights.
    let stories = store
        .story_list(account_id, truth.at - Duration::days(2), Utc::now())
        .await
        .unwrap();
    let stored: BTreeSet<&str> = stories
        .iter()
        .map(|s| s.record.ig_media_id.as_str())
        .collect();
    let expected: BTreeSet<&str> = truth.stories.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(stored, expected, "{who}: stories");
    let story_ids: Vec<String> = truth.stories.iter().map(|s| s.id.clone()).collect();
    let story_rows = store.story_insight_history(&story_ids).await.unwrap();
    for t in &truth.stories {
        let s = stories
            .iter()
            .find(|s| s.record.ig_media_id == t.id)
            .unwrap();
        assert_eq!(s.record.published_at, testkit::parse_ts(&t.timestamp));
        let rows: Vec<_> = story_rows
            .iter()
            .filter(|r| r.ig_media_id == t.id)
            .collect();
        match &t.insights {
            InsightsTruth::Values { values, .. } => {
                let expected = requested(catalogs, &account, MediaCategory::Story, values);
                assert_eq!(s.latest, expected, "story {}", t.id);
                let captures: BTreeSet<_> = rows.iter().map(|r| r.captured_at).collect();
                assert_eq!(
                    captures.len(),
                    syncs,
                    "story {}: one capture per sync",
                    t.id
                );
                let totals = rows.iter().filter(|r| r.breakdown.is_none()).count();
                assert_eq!(
                    totals,
                    expected.len() * syncs,
                    "story {}: snapshot rows",
                    t.id
                );
            }
            InsightsTruth::Error { message, .. } => {
                let e = s.insights_error.as_deref().unwrap_or_default();
                assert!(
                    e.contains(message.as_str()),
                    "story {}: {e:?} vs {message}",
                    t.id
                );
                assert!(rows.is_empty(), "story {}: {rows:?}", t.id);
            }
        }
        checked.stories += 1;
        checked.insight_values += rows.len() as u64;
    }

    // Account insights per day over the window the last sync read.
    let (_, steps) = last_succeeded_run(store, account_id).await;
    let step = steps
        .iter()
        .find(|s| s.step == "account_insights")
        .unwrap_or_else(|| panic!("{who}: no account_insights step"));
    let day = |k: &str| -> NaiveDate {
        step.detail[k]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{who}: account_insights detail has no {k}: {step:?}"))
    };
    let (since, until) = (day("since"), day("until"));
    let truth_today = truth.account_insights.last().map(|d| d.date).unwrap();
    // The engine reads up to its own today; Meta (the simulator, frozen at the test's
    // start) knows days up to its today. They differ only if a Pacific midnight passed.
    let last = until.min(truth_today);
    assert!(
        until >= truth_today,
        "{who}: the sync read up to {until}, Meta has {truth_today}"
    );
    if until == truth_today {
        assert_eq!(step.complete, Some(true), "{who}: {step:?}");
    }
    let days = store
        .account_insight_days(account_id, &[], since, last)
        .await
        .unwrap();
    let stored = testkit::day_map(&days);
    let mut expected: BTreeMap<testkit::DayKey, f64> = BTreeMap::new();
    for d in truth
        .account_insights
        .iter()
        .filter(|d| d.date >= since && d.date <= last)
    {
        for (metric, value) in &d.values {
            // follower_count is read over the 30 days before the engine's today (and today).
            if metric == "follower_count" && (until - d.date).num_days() > 30 {
                continue;
            }
            expected.insert(
                (metric.clone(), d.date, String::new(), String::new()),
                *value as f64,
            );
        }
        for (metric, dims) in &d.breakdowns {
            for (dim, keys) in dims {
                for (key, value) in keys {
                    expected.insert(
                        (metric.clone(), d.date, dim.clone(), key.clone()),
                        *value as f64,
                    );
                }
            }
        }
    }
    let online_from = since.max(until - Duration::days(30));
    for d in truth
        .online_followers
        .iter()
        .filter(|d| d.date >= online_from && d.date < until)
    {
        for (hour, value) in &d.by_hour {
            expected.insert(
                (
                    "online_followers".into(),
                    d.date,
                    "hour".into(),
                    hour.clone(),
                ),
                *value as f64,
            );
        }
    }
    for (k, v) in &expected {
        assert_eq!(stored.get(k), Some(v), "{who}: account insight {k:?}");
    }
    let extra: Vec<_> = stored
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .collect();
    assert!(
        extra.is_empty(),
        "{who}: unexpected account insight rows {extra:?}"
    );
    assert!(!expected.is_empty(), "{who}: no account insights checked");
    checked.account_values += expected.len() as u64;

    // Demographics.
    checked.demographic_values +=
        testkit::assert_demographics(store.as_ref(), account_id, truth).await as u64;
    checked
}
