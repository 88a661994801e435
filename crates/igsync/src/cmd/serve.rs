//! `igsync serve`: the JSON API, dashboard and queue monitor, with queue workers and
//! schedules in the same process unless `--no-worker`.

use std::process::ExitCode;

use anyhow::Context;
use server::AppState;
use store::DynStore;
use sync::Engine;

use crate::cli::ServeArgs;
use crate::cmd::{engine, graph, run::shutdown_signal};
use crate::config::{Config, redact_url};
use crate::db;

pub(crate) async fn run(args: ServeArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let store = db::open(&config.database_url).await?;
    // Embedded SQLite serves and works in one process; on PostgreSQL a production install
    // runs `igsync worker` processes beside `serve`.
    let run_workers = if args.worker {
        true
    } else if args.no_worker {
        false
    } else {
        store.dialect() == "sqlite"
    };
    let engine = if run_workers {
        engine::build_for_workers(config, store.clone()).await?
    } else {
        // Without workers the dashboard and the API still serve what is stored; the key's
        // problem is said once, for the workers that run elsewhere.
        if let Err(e) = engine::check_secret_key(config, &store).await {
            eprintln!("warning: {e:#}");
        }
        engine::build(config, store.clone()).await?
    };
    let state = app_state(config, store, engine.clone()).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(
        url = %format!("http://{addr}"),
        database = %redact_url(&config.database_url),
        workers = run_workers,
        "serving the API and the dashboard"
    );
    eprintln!(
        "igsync serving on http://{addr} (create a sign-in key with `igsync keys create --name NAME`)"
    );

    for (login, why) in server::connect_unavailable(&state) {
        match (why, &config.server.public_url) {
            (None, Some(url)) => eprintln!(
                "connect {} accounts at {url}/connect (redirect URI {url}/connect/callback)",
                login.as_str()
            ),
            (Some(why), _) => {
                tracing::warn!(login = login.as_str(), why = %why, "connecting accounts is unavailable");
                eprintln!(
                    "connecting {} accounts from the dashboard is unavailable: {why}",
                    login.as_str()
                );
            }
            (None, None) => {}
        }
    }
    if !run_workers {
        eprintln!(
            "no workers in this process: syncs run in `igsync worker` processes (or pass --worker)"
        );
    }
    let workers = run_workers.then_some(engine);
    serve_with_workers(
        listener,
        state,
        workers,
        "stopping: finishing requests and draining jobs",
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// The state the HTTP server shares: the store, the engine (its clock included), the Graph
/// clients and, when a secret key is configured, the token cipher.
pub(crate) async fn app_state(
    config: &Config,
    store: DynStore,
    engine: Engine,
) -> anyhow::Result<AppState> {
    let mut state = AppState::new(store.clone(), config.server.clone())
        .with_engine(engine)
        .with_graph(graph::clients(config)?);
    if config.secret_key.is_some() {
        state = state.with_cipher(db::cipher(config, &store).await?);
    }
    Ok(state)
}

/// Serves HTTP on `listener` and, given an engine, runs its schedules and a worker in the
/// same process, until Ctrl-C or SIGTERM; then says `stopping`, finishes the requests in
/// flight and drains the running jobs. `igsync serve` and `igsync demo` both run through here.
pub(crate) async fn serve_with_workers(
    listener: tokio::net::TcpListener,
    state: AppState,
    workers: Option<Engine>,
    stopping: &str,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = match workers {
        None => None,
        Some(engine) => {
            engine
                .install_schedules()
                .await
                .context("cannot install the schedules")?;
            // A report schedule that cannot deliver is said once at start, not only in
            // its failed attempts.
            match engine.report_problems().await {
                Ok(problems) => {
                    for problem in problems {
                        tracing::warn!("{problem}");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot check the report schedules"),
            }
            let mut rx = stop_rx.clone();
            Some(tokio::spawn(async move {
                engine
                    .run_worker(async move {
                        let _ = rx.wait_for(|s| *s).await;
                    })
                    .await
            }))
        }
    };
    let mut rx = stop_rx.clone();
    let http = tokio::spawn(server::serve(listener, state, async move {
        let _ = rx.wait_for(|s| *s).await;
    }));
    shutdown_signal().await;
    eprintln!("{stopping}");
    let _ = stop_tx.send(true);
    http.await
        .context("the HTTP server stopped unexpectedly")?
        .context("HTTP server error")?;
    if let Some(worker) = worker {
        worker.await.context("the worker stopped unexpectedly")??;
    }
    Ok(())
}
