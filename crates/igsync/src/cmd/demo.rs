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
use server::AppState;
use simulator::{SimConfig, SimServer};
use store::{
    AccountType, AlertQuery, Cipher, DynStore, LoginKind, NewAccount, SecretKey, SecretString,
};
use sync::{Engine, Plan};

use crate::cli::DemoArgs;
use crate::cmd::run::{deferred_until, shutdown_signal, wait_with_progress};
use crate::cmd::serve::server_settings;
use crate::cmd::{engine, graph};
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
    let failed = wait_with_progress(&engine, &requests, &config, true).await?;
    let elapsed = started.elapsed();
    let refreshed = refresh_tokens(&engine, &store, &cipher).await?;

    print_summary(&store, &sim, &engine, &requests, elapsed, &refreshed).await?;
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
    // The simulator's app: any id and secret are accepted, as a real app's would be.
    config
        .graph
        .app_id
        .get_or_insert_with(|| "1000000000".to_string());
    config
        .graph
        .app_secret
        .get_or_insert_with(|| SecretString::new("demo-app-secret"));
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
    let mut note = None;
    if config.secret_key.is_none() {
        let key = SecretKey::generate()?;
        let path = args.dir.join("secret.key");
        if !config.database_url_explicit {
            write_private(&path, key.to_hex().expose())?;
            note = Some(format!(
                "the demo's tokens are encrypted with the key in {}; to reuse this database: \
                 IGSYNC_SECRET_KEY=$(cat {}) igsync serve --database-url {}",
                path.display(),
                path.display(),
                config.database_url
            ));
        }
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

async fn print_summary(
    store: &DynStore,
    sim: &SimServer,
    engine: &Engine,
    requests: &[(store::Account, sync::Enqueued)],
    elapsed: Duration,
    refreshed: &[String],
) -> anyhow::Result<()> {
    let totals = store.totals().await?;
    let stats = sim.stats();
    let alerts = store
        .alert_list(AlertQuery {
            limit: 10_000,
            ..Default::default()
        })
        .await?;
    let trending = alerts
        .iter()
        .filter(|a| a.alert.kind == "trending_post")
        .count();
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
        if let Some(at) = deferred_until(store, &progress).await? {
            note.push(format!(
                "rate-limited by Meta; resumes {}",
                at.format("%H:%M UTC")
            ));
        }
        if refreshed.contains(&a.username) {
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
    println!("  trending posts found     {:>10}", trending);
    println!("  alerts                   {:>10}", alerts.len());
    println!("  sync wall time           {:>9.1}s", elapsed.as_secs_f64());
    println!();
    Ok(())
}

async fn serve(
    config: &Config,
    store: DynStore,
    engine: Engine,
    listen: std::net::SocketAddr,
) -> anyhow::Result<()> {
    let (_, key) = server::auth::create_api_key(&*store, "demo")
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the sign-in key: {e}"))?;
    let mut state = AppState::new(store.clone(), server_settings(config))
        .with_engine(engine.clone())
        .with_graph(graph::clients(config)?);
    state = state.with_cipher(db::cipher(config, &store).await?);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| {
            format!("cannot listen on {listen} (is another igsync running? use --listen)")
        })?;
    let addr = listener.local_addr()?;
    println!("dashboard:  http://{addr}/");
    println!("sign in with this key (shown once): {}", key.expose());
    println!("API:        curl -H 'Authorization: Bearer <key>' http://{addr}/api/v1/accounts");
    println!("Ctrl-C stops the demo.");

    engine.install_schedules().await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut rx = stop_rx.clone();
    let worker_engine = engine.clone();
    let worker = tokio::spawn(async move {
        worker_engine
            .run_worker(async move {
                let _ = rx.wait_for(|s| *s).await;
            })
            .await
    });
    let mut rx = stop_rx.clone();
    let http = tokio::spawn(server::serve(listener, state, async move {
        let _ = rx.wait_for(|s| *s).await;
    }));
    shutdown_signal().await;
    eprintln!("stopping the demo");
    let _ = stop_tx.send(true);
    http.await
        .context("the HTTP server stopped unexpectedly")?
        .context("HTTP server error")?;
    worker.await.context("the worker stopped unexpectedly")??;
    Ok(())
}
