//! Throughput of the simulator at zero latency: generates a world (default 100 accounts ×
//! 1,000 posts), then hammers it with a mix of realistic sync requests from concurrent
//! keep-alive clients and prints the world generation time and requests per second.
//!
//! `cargo run --release -p simulator --example throughput -- [accounts] [media] [concurrency] [seconds] [url]`
//!
//! With a `url`, it loads an already running simulator (e.g. `igsync simulate`, or this
//! example's own server in another process with `SIM_SERVE_ONLY=1`), so client and server
//! can be pinned to different cores.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use simulator::{ApiVersion, InsightsTruth, SimConfig, SimServer};

fn arg(i: usize, default: u64) -> u64 {
    std::env::args()
        .nth(i)
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let accounts = arg(1, 100) as usize;
    let media = arg(2, 1000) as usize;
    let concurrency = arg(3, 32) as usize;
    let seconds = arg(4, 5);
    let _ = rustls::crypto::ring::default_provider().install_default();

    if std::env::var_os("SIM_SERVE_ONLY").is_some() {
        let addr: SocketAddr = std::env::var("SIM_ADDR")
            .unwrap_or_else(|_| "127.0.0.1:8787".into())
            .parse()?;
        println!("serving on {addr} until Ctrl-C");
        simulator::serve(SimConfig::new(42, accounts, media), addr).await?;
        return Ok(());
    }
    let started = Instant::now();
    let addr: SocketAddr = "127.0.0.1:0".parse()?;
    let server = SimServer::start(SimConfig::new(42, accounts, media), addr).await?;
    let generation = started.elapsed();
    let total_posts: u64 = server.accounts().iter().map(|a| a.media_count).sum();
    println!("world: {accounts} accounts, {total_posts} posts, started in {generation:?}");
    let remote = std::env::args().nth(5);

    // A request mix per account: profile, a media page, one insights call, a multi-ID
    // insights read of 10 posts, a day of account insights.
    // The world is deterministic: a remote simulator with the same seed and size has the
    // same accounts, tokens and posts.
    let base = remote.clone().unwrap_or_else(|| server.url());
    let now = server.now().timestamp();
    let mut urls = Vec::new();
    for a in server.accounts() {
        let t = server
            .ground_truth(&a.ig_user_id, ApiVersion::V25)
            .ok_or("truth")?;
        let ok: Vec<&str> = t
            .media
            .iter()
            .filter(|m| {
                m.media_product_type == "FEED" && matches!(m.insights, InsightsTruth::Values { .. })
            })
            .map(|m| m.id.as_str())
            .take(10)
            .collect();
        let (id, tok) = (&a.ig_user_id, &a.access_token);
        urls.push(format!(
            "{base}/v25.0/{id}?fields=id,username,followers_count,media_count&access_token={tok}"
        ));
        urls.push(format!(
            "{base}/v25.0/{id}/media?fields=id,caption,media_type,media_product_type,timestamp,like_count,comments_count&limit=25&access_token={tok}"
        ));
        if let Some(first) = ok.first() {
            urls.push(format!("{base}/v25.0/{first}/insights?metric=reach,views,likes,saved,shares&access_token={tok}"));
            urls.push(format!(
                "{base}/v25.0/insights?ids={}&metric=reach,views,likes,comments,saved,shares&access_token={tok}",
                ok.join(",")
            ));
        }
        urls.push(format!(
            "{base}/v25.0/{id}/insights?metric=reach,follower_count&period=day&since={}&until={now}&access_token={tok}",
            now - 86_400
        ));
    }
    let urls = Arc::new(urls);
    let count = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (urls, count, errors) = (urls.clone(), count.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut i = w * 7;
            while Instant::now() < deadline {
                let url = &urls[i % urls.len()];
                i += 1;
                match http.get(url).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    let t0 = Instant::now();
    for t in tasks {
        t.await?;
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let n = count.load(Ordering::Relaxed);
    println!(
        "{n} requests in {elapsed:.1} s with {concurrency} clients: {:.0} requests/s ({} errors)",
        n as f64 / elapsed,
        errors.load(Ordering::Relaxed)
    );
    server.shutdown().await;
    Ok(())
}
