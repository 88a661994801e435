//! The warehouse views on PostgreSQL: after a real sync of a simulated fleet, `igsync migrate`
//! exposes Fivetran-compatible views; `instagram_business__posts`, computed from them the way
//! Fivetran's dbt package computes it, equals what `igsync report` says for every post; the
//! package's key tests pass; Meta's comment notifications received by `igsync serve` appear
//! in `media_comment`; and the role made by `igsync warehouse grant` reads the views and none
//! of igsync's tables.

use std::collections::BTreeMap;

use serde_json::Value;
use simulator::{SimServer, WebhookConfig, WebhookEvent, WebhookState};
use store::Store;
use store_postgres::PostgresStore;
use store_postgres::warehouse::{WarehouseComment, WarehousePost};

use crate::support::{Dialect, Harness, record_figures, serve, sim_config, start_sim};

const VERIFY: &str = "warehouse-verify-token";

/// Serves igsync with Meta's webhooks on, subscribes every account, lets a day and a half of
/// the simulated world's comment notifications arrive, and returns the comments Meta sent.
async fn receive_comments(h: &mut Harness, sim: &SimServer) -> Vec<WebhookEvent> {
    h.set("IGSYNC_WEBHOOKS_ENABLED", "true");
    h.set("IGSYNC_WEBHOOKS_VERIFY_TOKEN", VERIFY);
    h.set("IGSYNC_GRAPH_APP_SECRET", &sim.app_secret());
    // The server processes what it receives (workers in the same process).
    let (mut server, url) = serve(h, &["--worker"]).await;
    // Late deliveries off, so that every notification due is delivered by the flush below.
    let mut hooks = WebhookConfig::new(format!("{url}/webhooks/meta"), VERIFY);
    hooks.reorder = false;
    sim.start_webhooks(hooks)
        .await
        .expect("the handshake with igsync serve succeeds");
    h.ok(&["webhooks", "subscribe", "--all"], None).await;
    sim.advance_clock(chrono::Duration::hours(36));
    sim.flush_webhooks().await;
    let sent: Vec<WebhookEvent> = sim
        .webhook_events()
        .await
        .into_iter()
        .filter(|e| e.field == "comments")
        .collect();
    assert!(sent.len() >= 3, "only {} comments sent", sent.len());
    assert!(
        sent.iter().all(|e| e.state == WebhookState::Delivered),
        "{sent:?}"
    );
    let store = h.db.open().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let mut stored = 0;
        for a in store.account_list().await.unwrap() {
            stored += store.comment_list(a.id, None, 0).await.unwrap().len();
        }
        if stored == sent.len() {
            break;
        }
        if std::time::Instant::now() > deadline {
            let status = h.run(&["webhooks", "status"], None).await;
            server.terminate().await;
            panic!(
                "{stored} of {} comments stored\n{status}\nserver:\n{}\n{}",
                sent.len(),
                server.stdout(),
                server.stderr()
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    sim.stop_webhooks().await;
    server.terminate().await;
    sent
}

/// Every comment Meta sent is one row of `media_comment` with its media, author, text and
/// parent; what the notifications do not say is NULL.
fn check_comments(sent: &[WebhookEvent], rows: &[WarehouseComment]) {
    let by_id: BTreeMap<i64, &WarehouseComment> = rows
        .iter()
        .map(|r| (r.id.expect("every comment has its id"), r))
        .collect();
    assert_eq!(
        by_id.len(),
        rows.len(),
        "one row per comment (none was edited)"
    );
    assert_eq!(rows.len(), sent.len());
    let int = |v: &Value| v.as_str().and_then(|s| s.parse::<i64>().ok());
    for e in sent {
        let v = &e.value;
        let row = by_id[&int(&v["id"]).unwrap()];
        assert_eq!(row.media_id, int(&v["media"]["id"]), "{v}");
        assert_eq!(row.owner_id, int(&v["from"]["id"]), "{v}");
        assert_eq!(
            row.owner_username.as_deref(),
            v["from"]["username"].as_str()
        );
        assert_eq!(row.text.as_deref(), v["text"].as_str());
        assert_eq!(row.parent_id, int(&v["parent_id"]), "{v}");
        assert_eq!(row.created_time, Some(e.time), "{v}");
        assert_eq!((row.hidden, row.like_count), (None, None));
    }
}

/// The `media_insights` column family of a post, as the views split metrics.
fn family(post: &Value) -> &'static str {
    let product = post["product_type"].as_str().unwrap_or_default();
    let media = post["media_type"].as_str().unwrap_or_default();
    if product.starts_with("stor") {
        "story"
    } else if product.starts_with("reel") {
        "reel"
    } else if media.starts_with("carousel") {
        "carousel_album"
    } else {
        "video_photo"
    }
}

/// The warehouse column that carries a report metric for a post of `family`.
fn column(family: &str, metric: &str) -> Option<String> {
    Some(match (family, metric) {
        ("story", "reach" | "shares" | "views" | "replies") => format!("story_{metric}"),
        ("story", _) => return None,
        (_, "likes") => "like_count".to_string(),
        (_, "comments") => "comment_count".to_string(),
        ("reel", "total_interactions") => "reel_total_interactions".to_string(),
        (f, "total_interactions") => format!("{f}_engagement"),
        ("reel", "saves") => return None, // not a column of Fivetran's v1.1.0 schema
        (f, "saves") => format!("{f}_saved"),
        (f, "reach" | "shares" | "views") => format!("{f}_{metric}"),
        _ => return None,
    })
}

fn role_url(url: &str, role: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
    let host = rest.split_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{role}:{password}@{host}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn warehouse_views_reproduce_the_report_and_the_reader_role_sees_only_them() {
    let mut h = Harness::new(Dialect::Postgres, "warehouse").await;
    let sim = start_sim(sim_config(71, 3, 25)).await;
    h.graph(&sim);
    h.register(&sim).await;
    h.ok(&["sync", "--all", "--wait"], None).await;
    // A second sync appends a second capture of every post: the views must pick the latest.
    h.ok(&["sync", "--all", "--wait"], None).await;
    let sent_comments = receive_comments(&mut h, &sim).await;
    let migrated = h.ok(&["migrate"], None).await;
    assert!(
        migrated
            .stdout
            .contains("warehouse views are current in schema instagram_business"),
        "{migrated}"
    );
    // Idempotent: a second run keeps them.
    h.ok(&["migrate"], None).await;

    let role = format!("igsync_reader_{}", std::process::id());
    let password = "reader-secret";
    let granted = h
        .ok(
            &["warehouse", "grant", "--role", &role, "--password-stdin"],
            Some(password),
        )
        .await;
    assert!(granted.stdout.contains("created role"), "{granted}");
    // Granting again updates the role.
    let again = h
        .ok(
            &["warehouse", "grant", "--role", &role, "--password-stdin"],
            Some(password),
        )
        .await;
    assert!(again.stdout.contains("updated role"), "{again}");

    let reader = PostgresStore::connect(&role_url(&h.db.url, &role, password))
        .await
        .expect("the reader role logs in");
    let posts = reader
        .warehouse_posts("instagram_business")
        .await
        .expect("the reader role reads the warehouse views");
    let denied = reader.account_list().await.unwrap_err().to_string();
    assert!(denied.contains("permission denied"), "{denied}");
    let comments = reader
        .warehouse_comments("instagram_business")
        .await
        .expect("the reader role reads media_comment");
    check_comments(&sent_comments, &comments);
    let failures = reader.warehouse_check("instagram_business").await.unwrap();
    assert!(failures.is_empty(), "{failures:?}");
    reader.close().await;
    // Roles belong to the whole server: drop it before anything else can fail.
    let dropped = h.ok(&["warehouse", "revoke", "--role", &role], None).await;
    assert!(dropped.stdout.contains("dropped role"), "{dropped}");
    assert!(
        PostgresStore::connect(&role_url(&h.db.url, &role, password))
            .await
            .is_err(),
        "the dropped role still logs in"
    );

    let by_id: BTreeMap<i64, &WarehousePost> = posts.iter().map(|p| (p.post_id, p)).collect();
    let store = h.db.open().await;
    let mut compared_posts = 0u64;
    let mut compared_values = 0u64;
    let mut missing_both = 0u64;
    for account in store.account_list().await.unwrap() {
        let run = h
            .ok(
                &[
                    "report",
                    "--account",
                    &account.ig_user_id,
                    "--format",
                    "json",
                    "--days",
                    "731",
                ],
                None,
            )
            .await;
        let report: Value = serde_json::from_str(&run.stdout).unwrap();
        let report_posts = report["posts"].as_array().unwrap();
        assert!(
            !report_posts.is_empty(),
            "no posts for {}",
            account.username
        );
        for post in report_posts {
            let id: i64 = post["ig_media_id"].as_str().unwrap().parse().unwrap();
            let row = by_id
                .get(&id)
                .unwrap_or_else(|| panic!("post {id} is not in instagram_business__posts"));
            let fam = family(post);
            assert_eq!(row.is_story, Some(fam == "story"), "post {id}");
            assert_eq!(row.user_id, Some(account.ig_user_id.parse().unwrap()));
            assert_eq!(row.username.as_deref(), Some(account.username.as_str()));
            assert_eq!(row.account_name, account.name);
            assert_eq!(row.post_url.as_deref(), post["permalink"].as_str());
            for (metric, value) in post["metrics"].as_object().unwrap() {
                let Some(col) = column(fam, metric) else {
                    continue;
                };
                let ours = row.metrics.get(&col).copied();
                match value.as_f64() {
                    Some(v) => {
                        assert_eq!(ours, Some(v.round() as i64), "post {id} {metric} ({col})");
                        compared_values += 1;
                    }
                    None => {
                        assert_eq!(ours, None, "post {id} {metric}: missing, not invented");
                        missing_both += 1;
                    }
                }
            }
            // No other family's columns are filled for this post.
            for col in row.metrics.keys() {
                assert!(
                    col == "like_count" || col == "comment_count" || col.starts_with(fam),
                    "post {id} ({fam}) has {col}"
                );
            }
            compared_posts += 1;
        }
    }
    let media_total = store::Store::totals(store.as_ref()).await.unwrap();
    assert!(compared_posts >= 30, "only {compared_posts} posts compared");
    // One row per post and story igsync holds: none lost, none doubled.
    assert_eq!(
        posts.len() as u64,
        (media_total.media + media_total.stories) as u64
    );

    let bad = h
        .run(&["warehouse", "grant", "--role", "Robert'); DROP"], None)
        .await;
    assert!(!bad.status.success());
    assert!(bad.stderr.contains("invalid role name"), "{bad}");

    record_figures(
        "warehouse",
        serde_json::json!({
            "posts_in_model": posts.len(),
            "report_posts_compared": compared_posts,
            "values_equal": compared_values,
            "missing_in_both": missing_both,
            "comments_in_media_comment": comments.len(),
            "totals": format!("{media_total:?}"),
        }),
    );
    h.db.teardown().await;
}
