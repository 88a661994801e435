//! `igsync simulate`: serves the Graph API simulator until Ctrl-C, and prints the seeded
//! accounts so a user or a script can register them.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use simulator::{SimConfig, SimServer, SizeDistribution};

use crate::cli::{SimSizes, SimulateArgs};

pub(crate) async fn run(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let addr: SocketAddr = args.listen.parse().with_context(|| {
        format!(
            "--listen {:?} is not an address like 127.0.0.1:8787",
            args.listen
        )
    })?;
    if args.accounts == 0 || args.accounts > simulator::MAX_ACCOUNTS {
        bail!(
            "--accounts must be from 1 to {}, got {}",
            simulator::MAX_ACCOUNTS,
            args.accounts
        );
    }
    if !(0.0..=1.0).contains(&args.fault_rate) || args.fault_rate.is_nan() {
        bail!(
            "--fault-rate must be between 0 and 1, got {}",
            args.fault_rate
        );
    }
    if !(0.0..=1.0).contains(&args.story_share) || args.story_share.is_nan() {
        bail!(
            "--story-share must be between 0 and 1, got {}",
            args.story_share
        );
    }
    let mut config = SimConfig::new(args.seed, args.accounts, args.media);
    config.sizes = match args.sizes {
        SimSizes::Uniform => SizeDistribution::Uniform,
        SimSizes::LongTail => SizeDistribution::LongTail,
    };
    config.story_share = args.story_share;
    config.latency = Duration::from_millis(args.latency_ms);
    config.jitter = Duration::from_millis(args.jitter_ms);
    config.fault_rate = args.fault_rate;
    if let Some(start) = args.start {
        config.now = start;
    }
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("invalid simulator settings: {e}"))?;
    let server = SimServer::start(config, addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let url = server.url();
    println!(
        "Graph API simulator listening on {url}  (seed {})",
        args.seed
    );
    println!("point igsync at it:  export IGSYNC_GRAPH_URL={url}");
    println!("accounts: {url}/__sim/accounts   stats: {url}/__sim/stats");
    println!();
    println!(
        "{:<20} {:<24} {:>8}  {:<10} TOKEN",
        "IG USER ID", "USERNAME", "MEDIA", "LOGIN"
    );
    for a in server.accounts() {
        println!(
            "{:<20} {:<24} {:>8}  {:<10} {}",
            a.ig_user_id,
            a.username,
            a.media_count,
            format!("{:?}", a.login).to_lowercase(),
            a.access_token
        );
    }
    println!("\n(simulated tokens are not secrets; Ctrl-C stops the simulator)");
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    server.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
