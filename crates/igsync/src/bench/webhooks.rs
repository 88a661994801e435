//! The `webhooks` scenario: throughput of the receiver of Meta's notifications
//! (`POST /webhooks/meta`): each notification's signature checked over its raw bytes, the
//! event stored and its processing job queued before the 200, from concurrent connections;
//! and, beside it, how fast forged notifications are refused.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};
use server::{AppState, ServerSettings, WebhookSettings};
use store::SecretString;

use crate::cli::BenchArgs;

use super::{db::*, fleet::*, *};

const SECRET: &str = "bench-app-secret";
const EVENTS: usize = 4_000;

fn body(i: usize) -> String {
    format!(
        r#"{{"object":"instagram","entry":[{{"id":"17841400000000001","time":{},"changes":[{{"field":"comments","value":{{"id":"1810{i:012}","from":{{"id":"2500{i}","username":"fan{i}"}},"text":"Love this \u2764 #{i}","media":{{"id":"17900000000000001","media_product_type":"FEED"}}}}}}]}}]}}"#,
        1_700_000_000 + i
    )
}

async fn blast(
    url: &str,
    bodies: Vec<(String, String)>,
    connections: usize,
) -> anyhow::Result<(f64, usize)> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()?;
    let bodies = Arc::new(bodies);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (client, bodies, next, url) =
            (client.clone(), bodies.clone(), next.clone(), url.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut ok = 0usize;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((body, sig)) = bodies.get(i) else {
                    break;
                };
                let r = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("x-hub-signature-256", sig)
                    .body(body.clone())
                    .send()
                    .await;
                if r.is_ok_and(|r| r.status().is_success()) {
                    ok += 1;
                }
            }
            ok
        }));
    }
    let mut ok = 0;
    for t in tasks {
        ok += t.await?;
    }
    Ok((started.elapsed().as_secs_f64(), ok))
}

pub(crate) async fn webhooks_scenario(args: &BenchArgs) -> anyhow::Result<Value> {
    let mut out = Vec::new();
    let mut targets = vec![BenchDb::sqlite("webhooks").await?];
    if !args.sqlite_only {
        targets.push(BenchDb::postgres(&postgres_url(args)?).await?);
    }
    let connections = (args.concurrency as usize).clamp(1, 64);
    for db in targets {
        let store = db.open().await?;
        let settings = ServerSettings {
            webhooks: Some(WebhookSettings {
                verify_token: SecretString::new("bench"),
                app_secret: SecretString::new(SECRET),
            }),
            max_connections_per_client: 1024,
            ..ServerSettings::default()
        };
        let state = AppState::new(store.clone(), settings);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/webhooks/meta", listener.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(server::serve(listener, state, async {
            let _ = stopped.await;
        }));
        let signed: Vec<(String, String)> = (0..EVENTS)
            .map(|i| {
                let b = body(i);
                let s = sync::webhooks::sign(SECRET.as_bytes(), b.as_bytes());
                (b, s)
            })
            .collect();
        let (wall, accepted) = blast(&url, signed, connections).await?;
        let stored = store.webhook_event_list(false, 0).await?.len();
        let forged: Vec<(String, String)> = (0..EVENTS)
            .map(|i| {
                let b = body(EVENTS + i);
                let s = sync::webhooks::sign(b"not-the-secret", b.as_bytes());
                (b, s)
            })
            .collect();
        let (forged_wall, _) = blast(&url, forged, connections).await?;
        let rate = accepted as f64 / wall;
        let forged_rate = EVENTS as f64 / forged_wall;
        println!(
            "webhooks {:<9} {accepted} signed notifications in {wall:>6.2} s = {rate:>7.0} events/s \
             ({connections} connections; stored {stored}); forged refused at {forged_rate:>7.0}/s",
            store.dialect(),
        );
        out.push(json!({
            "database": store.dialect(),
            "events": EVENTS,
            "accepted": accepted,
            "stored": stored,
            "connections": connections,
            "wall_s": round2(wall),
            "events_per_s": rate.round(),
            "forged_refused_per_s": forged_rate.round(),
        }));
        let _ = stop.send(());
        let _ = server.await;
        db.drop_db().await;
    }
    Ok(json!({ "runs": out, "build": if cfg!(debug_assertions) { "debug" } else { "release" } }))
}
