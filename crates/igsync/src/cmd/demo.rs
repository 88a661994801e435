//! `igsync demo`: the newcomer's path. Starts the Graph API simulator in this process with a
//! small, varied fleet (one account with a token about to expire, one with a tiny API
//! budget), registers the accounts in a fresh database, runs a full sync through the real
//! queue with progress bars, refreshes expiring tokens, prints a summary, and serves the
//! dashboard with a freshly created sign-in key until Ctrl-C.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::Utc;
use server::api::analytics::{ReportParams, period_of};
use simulator::{SimConfig, SimServer};
use store::{
    AccountType, AlertQuery, Cipher, DynStore, JobQuery, JobSelector, JobState, LoginKind,
    NewAccount, RunFinish, RunStatus, SecretKey, SecretString, StatusChange, StepStatus,
    SyncStatus, SyncStep,
};
use sync::{Engine, Plan};

use crate::cli::DemoArgs;
use crate::cmd::engine;
use crate::cmd::run::{deferred_until, wait_with_progress};
use crate::cmd::serve::{app_state, serve_with_workers};
use crate::config::{Config, redact_url};
use crate::db;

/// Calls the tight-budget account may make in the simulator's window: enough for its
/// profile and media listing, not for all its insights.
const TIGHT_BUDGET: u64 = 12;

pub(crate) async fn run(args: DemoArgs, config: &Config) -> anyhow::Result<ExitCode> {
    if args.accounts == 0 || args.accounts > 200 {
        bail!("--accounts must be from 1 to 200, got {}", args.accounts);
    }
    if args.media == 0 || args.media > 20_000 {
        bail!("--media must be from 1 to 20000, got {}", args.media);
    }
    let listen: std::net::SocketAddr = args.listen.parse().with_context(|| {
        format!(
            "--listen {:?} is not an address like 127.0.0.1:8080",
            args.listen
        )
    })?;

    // The simulated Graph API.
    let mut sim_config = SimConfig::new(args.seed, args.accounts, args.media);
    sim_config.expiring_token_accounts = 1;
    sim_config.tight_budget_accounts = usize::from(args.accounts >= 3);
    sim_config.tight_budget = TIGHT_BUDGET;
    sim_config.rate_limit_window = Duration::from_secs(3600);
    sim_config.latency = Duration::from_millis(3);
    sim_config.jitter = Duration::from_millis(4);
    let sim = SimServer::start(sim_config, "127.0.0.1:0".parse()?)
        .await
        .context("cannot start the Graph API simulator")?;
    eprintln!(
        "Graph API simulator: {} accounts, ~{} posts each, a year of history (seed {}) at {}",
        args.accounts,
        args.media,
        args.seed,
        sim.url()
    );

    // A fresh database, and a key for the tokens.
    let (config, key_note) = demo_config(config, &args, &sim)?;
    let store = db::open(&config.database_url).await?;
    eprintln!(
        "database: {} ({})",
        redact_url(&config.database_url),
        store.dialect()
    );
    let cipher = Cipher::new(config.secret_key.as_ref().context("demo secret key")?);
    let accounts = register(&store, &cipher, &sim).await?;
    eprintln!(
        "registered {} accounts; syncing through the queue:",
        accounts.len()
    );

    let engine = engine::build(&config, store.clone()).await?;
    let mut requests = Vec::new();
    for account in &accounts {
        requests.push((
            account.clone(),
            engine.enqueue_sync(account.id, Plan::Full, "demo").await?,
        ));
    }
    let started = std::time::Instant::now();
    let failed = wait_with_progress(&engine, &requests, true).await?;
    let elapsed = started.elapsed();
    let refreshed = refresh_tokens(&engine, &store, &cipher).await?;
    // Without the dashboard the simulator stops with the demo: a sync Meta's rate limit
    // deferred could never resume, so it is cancelled now, with its reason in the history.
    let cancelled = if args.no_serve {
        cancel_deferred(&store, &engine, &requests).await?
    } else {
        Vec::new()
    };

    let summary = Summary {
        elapsed,
        refreshed: &refreshed,
        cancelled: &cancelled,
    };
    print_summary(&store, &sim, &engine, &requests, &summary).await?;
    if let Some(note) = key_note {
        eprintln!("{note}");
    }
    if args.no_serve {
        sim.shutdown().await;
        return Ok(if failed {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        });
    }
    serve(&config, store, engine, listen).await?;
    sim.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// The demo's configuration: the simulator's URL, quick retries, no start limiter, a fresh
/// SQLite file unless a database URL was given, and a secret key.
fn demo_config(
    config: &Config,
    args: &DemoArgs,
    sim: &SimServer,
) -> anyhow::Result<(Config, Option<String>)> {
    let mut config = config.clone();
    config.graph.base_url = Some(sim.url());
    // The simulator's app, so "Connect account" logs in through the simulator's dialogs.
    config.graph.app_id.get_or_insert_with(|| sim.app_id());
    config
        .graph
        .app_secret
        .get_or_insert_with(|| SecretString::new(sim.app_secret()));
    config.sync.backoff = Duration::from_secs(2);
    config.sync.syncs_per_minute = 0;
    config.sync.concurrency = config.sync.concurrency.max(3);
    if !config.database_url_explicit {
        std::fs::create_dir_all(&args.dir)
            .with_context(|| format!("cannot create {}", args.dir.display()))?;
        for name in ["igsync.db", "igsync.db-wal", "igsync.db-shm"] {
            let path = args.dir.join(name);
            if path.exists() {
                std::fs::remove_file(&path)
                    .with_context(|| format!("cannot remove the previous {}", path.display()))?;
            }
        }
        config.database_url = format!("sqlite://{}", args.dir.join("igsync.db").display());
    }
    // The key that seals the demo's tokens is kept next to the demo's data (also for a
    // database given with --database-url), so the database stays usable after the demo.
    let mut note = None;
    if config.secret_key.is_none() {
        std::fs::create_dir_all(&args.dir)
            .with_context(|| format!("cannot create {}", args.dir.display()))?;
        let path = args.dir.join("secret.key");
        let key = if config.database_url_explicit && path.exists() {
            // The given database may hold the tokens of a previous demo, sealed with it.
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read the demo's key {}", path.display()))?;
            SecretKey::from_hex(text.trim()).map_err(|e| {
                anyhow::anyhow!(
                    "the demo's key {} is unusable ({e}); remove it to start afresh",
                    path.display()
                )
            })?
        } else {
            let key = SecretKey::generate()?;
            write_private(&path, key.to_hex().expose())?;
            key
        };
        note = Some(format!(
            "the demo's tokens are encrypted with the key in {}; to reuse this database: \
             IGSYNC_SECRET_KEY=$(cat {}) igsync serve --database-url {}",
            path.display(),
            path.display(),
            redact_url(&config.database_url)
        ));
        config.secret_key = Some(key);
    }
    Ok((config, note))
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot restrict {}", path.display()))?;
    }
    Ok(())
}

/// Registers the simulator's accounts as a user would, with tokens encrypted.
async fn register(
    store: &DynStore,
    cipher: &Cipher,
    sim: &SimServer,
) -> anyhow::Result<Vec<store::Account>> {
    let zones = [
        "Europe/Berlin",
        "America/New_York",
        "UTC",
        "Asia/Tokyo",
        "America/Sao_Paulo",
    ];
    let mut out = Vec::new();
    for (i, a) in sim.accounts().into_iter().enumerate() {
        let login = match format!("{:?}", a.login).to_ascii_lowercase().as_str() {
            "instagram" => LoginKind::Instagram,
            _ => LoginKind::Facebook,
        };
        let account_type = match format!("{:?}", a.account_type)
            .to_ascii_lowercase()
            .as_str()
        {
            "business" => AccountType::Business,
            t if t.contains("creator") => AccountType::Creator,
            _ => AccountType::Unknown,
        };
        let account = store
            .account_upsert(NewAccount {
                ig_user_id: a.ig_user_id.clone(),
                username: a.username.clone(),
                name: Some(a.name.clone()),
                account_type,
                login,
                page_id: a.page_id.clone(),
                timezone: Some(zones[i % zones.len()].to_string()),
                token: cipher.encrypt(&SecretString::new(a.access_token.clone()))?,
                token_expires_at: Some(a.token_expires_at),
                now: Utc::now(),
            })
            .await?;
        out.push(account);
    }
    Ok(out)
}

/// Why a deferred demo sync was cancelled, as the history shows it.
const CANCELLED_AT_EXIT: &str = "cancelled when the demo ended: Meta's rate limit deferred this \
     sync and the demo's simulated Graph API stopped with it; run the demo again, or without \
     --no-serve to watch it resume";

/// Cancels the syncs still waiting (deferred by the rate limit): their jobs are cancelled,
/// their runs end as cancelled with the reason, and their accounts go back to idle. Returns
/// the usernames.
async fn cancel_deferred(
    store: &DynStore,
    engine: &Engine,
    requests: &[(store::Account, sync::Enqueued)],
) -> anyhow::Result<Vec<String>> {
    let mut cancelled = Vec::new();
    for (account, enqueued) in requests {
        let progress = engine.progress(enqueued.job_id()).await?;
        if progress.is_finished() {
            continue;
        }
        let now = Utc::now();
        let mut ids = vec![enqueued.job_id()];
        if let Some(run_id) = progress.run_id {
            let active = store
                .job_list(JobQuery {
                    run_id: Some(run_id),
                    states: vec![JobState::Pending, JobState::Running],
                    limit: 100,
                    ..Default::default()
                })
                .await?;
            ids.extend(active.jobs.iter().map(|j| j.id));
        }
        store.jobs_cancel(JobSelector::Ids(ids), now).await?;
        if let Some(run_id) = progress.run_id {
            // The step the rate limit held ends with the run, saying so.
            if let Some((_, steps)) = store.sync_run_get(run_id).await? {
                let ended = steps
                    .into_iter()
                    .filter(|s| s.status == StepStatus::Running)
                    .map(|step| SyncStep {
                        status: StepStatus::Failed,
                        finished_at: Some(now),
                        complete: Some(false),
                        error: Some(format!(
                            "cancelled when the demo ended ({})",
                            step.error.as_deref().unwrap_or("deferred")
                        )),
                        ..step
                    })
                    .collect();
                store.sync_steps_record(ended).await?;
            }
            store
                .sync_run_finish(RunFinish {
                    run_id,
                    status: RunStatus::Cancelled,
                    error: Some(CANCELLED_AT_EXIT.to_string()),
                    finished_at: now,
                })
                .await?;
        }
        store
            .account_status_set(
                account.id,
                StatusChange {
                    status: SyncStatus::Idle,
                    error: None,
                    synced_at: None,
                    only_if: vec![SyncStatus::Syncing],
                    now,
                },
            )
            .await?;
        cancelled.push(account.username.clone());
    }
    Ok(cancelled)
}

/// Trending posts in each account's report of the last 30 days (`igsync report`'s
/// default), summed: the figure the reports will show.
async fn trending_in_reports(store: &DynStore) -> anyhow::Result<usize> {
    let mut trending = 0;
    for account in store.account_list().await? {
        let now = chrono::Utc::now();
        let period = period_of(&ReportParams::default(), now, account.time_zone()?)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let report = sync::build_report(&**store, &account, period, now)
            .await
            .map_err(|e| {
                anyhow::anyhow!("cannot build the report of @{}: {e}", account.username)
            })?;
        trending += report.trends.trending_rows.len();
    }
    Ok(trending)
}

/// Runs the token refresh now and reports which accounts got a new token.
async fn refresh_tokens(
    engine: &Engine,
    store: &DynStore,
    cipher: &Cipher,
) -> anyhow::Result<Vec<String>> {
    let before = store.account_list().await?;
    engine.refresh_tokens_now().await?;
    let worker = engine.clone();
    // The refresh jobs are quick; bound the wait so a rate-limited account cannot hold it.
    let _ = tokio::time::timeout(Duration::from_secs(20), worker.run_until_idle()).await;
    let after = store.account_list().await?;
    let mut refreshed = Vec::new();
    for a in after {
        let Some(old) = before.iter().find(|b| b.id == a.id) else {
            continue;
        };
        if a.token_refreshed_at != old.token_refreshed_at && a.token.is_some() {
            let readable = a.token.as_ref().is_some_and(|t| cipher.decrypt(t).is_ok());
            if readable {
                refreshed.push(a.username.clone());
            }
        }
    }
    Ok(refreshed)
}

/// What happened besides the syncs, for the summary.
struct Summary<'a> {
    elapsed: Duration,
    refreshed: &'a [String],
    cancelled: &'a [String],
}

async fn print_summary(
    store: &DynStore,
    sim: &SimServer,
    engine: &Engine,
    requests: &[(store::Account, sync::Enqueued)],
    summary: &Summary<'_>,
) -> anyhow::Result<()> {
    let totals = store.totals().await?;
    let stats = sim.stats();
    let alerts = store
        .alert_list(AlertQuery {
            limit: 10_000,
            ..Default::default()
        })
        .await?;
    let trending = trending_in_reports(store).await?;
    println!();
    println!(
        "{:<22} {:<9} {:>9} {:>6}  {:<12} NOTE",
        "ACCOUNT", "TYPE", "FOLLOWERS", "POSTS", "STATUS"
    );
    for (account, enqueued) in requests {
        let a = store
            .account_get(account.id)
            .await?
            .unwrap_or_else(|| account.clone());
        let progress = engine.progress(enqueued.job_id()).await?;
        let mut note = Vec::new();
        if summary.cancelled.contains(&a.username) {
            note.push(
                "rate-limited by Meta; its sync was cancelled as the demo ended (see `igsync \
                 history`)"
                    .to_string(),
            );
        } else if let Some(at) = deferred_until(store, &progress).await? {
            note.push(format!(
                "rate-limited by Meta; resumes {}",
                at.format("%H:%M UTC")
            ));
        }
        if summary.refreshed.contains(&a.username) {
            note.push("token was expiring: refreshed".to_string());
        }
        if let Some(e) = &a.last_sync_error {
            note.push(e.clone());
        }
        println!(
            "@{:<21} {:<9} {:>9} {:>6}  {:<12} {}",
            a.username,
            a.account_type.as_str(),
            a.followers_count
                .map(|n| n.to_string())
                .unwrap_or_else(|| "-".into()),
            a.media_count
                .map(|n| n.to_string())
                .unwrap_or_else(|| "-".into()),
            a.status.as_str(),
            note.join("; ")
        );
    }
    println!();
    println!("  accounts                 {:>10}", totals.accounts);
    println!("  posts and reels          {:>10}", totals.media);
    println!(
        "  snapshots                {:>10}   (insights {}, stories {}, profiles {})",
        totals.media_insight_snapshots + totals.story_insight_snapshots + totals.profile_snapshots,
        totals.media_insight_snapshots,
        totals.story_insight_snapshots,
        totals.profile_snapshots
    );
    println!(
        "  account insight days     {:>10}",
        totals.account_insight_days
    );
    println!(
        "  demographic values       {:>10}",
        totals.demographic_values
    );
    println!(
        "  API calls                {:>10}   ({} rate-limit units)",
        stats.requests_total, stats.rate_limit_units_total
    );
    println!(
        "  trending posts found     {:>10}   (in the accounts' 30-day reports)",
        trending
    );
    println!("  alerts                   {:>10}", alerts.len());
    println!(
        "  sync wall time           {:>9.1}s",
        summary.elapsed.as_secs_f64()
    );
    println!();
    Ok(())
}

async fn serve(
    config: &Config,
    store: DynStore,
    engine: Engine,
    listen: std::net::SocketAddr,
) -> anyhow::Result<()> {
    let (_, key) = server::auth::create_api_key(&*store, "demo", chrono::Utc::now())
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the sign-in key: {e}"))?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| {
            format!("cannot listen on {listen} (is another igsync running? use --listen)")
        })?;
    let addr = listener.local_addr()?;
    // "Connect account" comes back to this address unless another one is configured.
    let mut config = config.clone();
    config
        .server
        .public_url
        .get_or_insert_with(|| format!("http://{addr}"));
    let state = app_state(&config, store, engine.clone()).await?;
    println!("dashboard:  http://{addr}/");
    println!("sign in with this key (shown once): {}", key.expose());
    println!("API:        curl -H 'Authorization: Bearer <key>' http://{addr}/api/v1/accounts");
    println!("Ctrl-C stops the demo.");

    serve_with_workers(listener, state, Some(engine), "stopping the demo").await
}
