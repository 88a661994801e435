//! Benchmark: requests, rate-limit units and wall time to read a 1,000-post account (media
//! list + media insights) from the simulator at 100 ms latency, with the client's batched
//! access pattern and with the original specifications' naive one (default page size, one
//! insights request per post).
//!
//! Run: `cargo run -p graph --example read_account_bench --release`
//! (`BENCH_LATENCY_MS` overrides the latency).

use std::time::{Duration, Instant};

use graph::{AccessToken, AccountRef, GraphClient, GraphConfig, LoginKind, MediaTarget, naive};
use simulator::{SimConfig, SimServer};

fn client(sim: &SimServer) -> GraphClient {
    let cfg = GraphConfig::builder(LoginKind::Facebook, "1234567890")
        .base_url(sim.url())
        .request_timeout(Duration::from_secs(30))
        .build()
        .expect("valid config");
    GraphClient::new(cfg).expect("client")
}

#[tokio::main]
async fn main() {
    let latency_ms: u64 = std::env::var("BENCH_LATENCY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    // Seed 12 with size 1049 gives one account with exactly 1,000 posts.
    let sim = SimServer::start(
        SimConfig::new(12, 1, 1049).with_latency_ms(latency_ms),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .expect("simulator");
    let acc = sim.accounts()[0].clone();
    let account = AccountRef::new(
        acc.ig_user_id.clone(),
        AccessToken::new(acc.access_token.clone()),
    );
    println!(
        "account with {} posts, {latency_ms} ms latency",
        acc.media_count
    );

    let batched = client(&sim);
    let started = Instant::now();
    let listing = batched.list_media(&account, |_| false).await.expect("list");
    let targets: Vec<MediaTarget> = listing.items.iter().filter_map(MediaTarget::of).collect();
    let insights = batched
        .media_insights(&account, &targets)
        .await
        .expect("insights");
    let elapsed = started.elapsed();
    let s = batched.stats();
    println!(
        "batched: {} requests, {} units, {:.2} s ({} posts, {} with insights)",
        s.http_requests,
        s.units,
        elapsed.as_secs_f64(),
        listing.items.len(),
        insights.ok_count()
    );

    let plain = client(&sim);
    let started = Instant::now();
    let read = naive::read_account(&plain, &account)
        .await
        .expect("naive read");
    let elapsed_naive = started.elapsed();
    let n = plain.stats();
    println!(
        "naive:   {} requests, {} units, {:.2} s ({} posts, {} with insights)",
        n.http_requests,
        n.units,
        elapsed_naive.as_secs_f64(),
        read.media.len(),
        read.insights.ok_count()
    );
    println!(
        "ratio:   {:.1}x fewer requests, {:.1}x faster",
        n.http_requests as f64 / s.http_requests.max(1) as f64,
        elapsed_naive.as_secs_f64() / elapsed.as_secs_f64().max(1e-9)
    );
    sim.shutdown().await;
}
