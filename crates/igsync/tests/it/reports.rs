//! `igsync reports send-now`: the delivery goes through the queue like a scheduled one. A
//! refused attempt is retried with the queue's backoff, the outcome and every attempt are
//! printed and kept in the delivery history; a target that keeps refusing ends the command
//! with a non-zero exit, and the failure is visible in `igsync reports list`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use crate::both_dialects;
use crate::support::{Dialect, Harness, api_key, http, serve, sim_config, start_sim};

both_dialects!(send_now_delivers_through_the_queue_with_retries_and_history,);

/// What the endpoint received: the signature header and the body.
type Received = Arc<Mutex<Vec<(Option<String>, Bytes)>>>;

/// A webhook endpoint on port 0 answering `statuses` in order, then 200.
async fn hook(statuses: &[u16]) -> (String, Received) {
    let received: Received = Arc::default();
    let answers = Arc::new(Mutex::new(
        statuses.iter().copied().collect::<VecDeque<_>>(),
    ));
    let state = (received.clone(), answers);
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(
                |State((rec, answers)): State<(Received, Arc<Mutex<VecDeque<u16>>>)>,
                 headers: HeaderMap,
                 body: Bytes| async move {
                    let signature = headers
                        .get("x-igsync-signature")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    rec.lock().unwrap().push((signature, body));
                    let status = answers.lock().unwrap().pop_front().unwrap_or(200);
                    StatusCode::from_u16(status).unwrap()
                },
            ),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

fn schedule_id(stdout: &str) -> String {
    stdout
        .strip_prefix("report schedule ")
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("no schedule id in {stdout:?}"))
        .to_string()
}

async fn send_now_delivers_through_the_queue_with_retries_and_history(d: Dialect) {
    let sim = start_sim(sim_config(73, 1, 12)).await;
    let mut h = Harness::new(d, "reports-send-now").await;
    h.graph(&sim);
    h.set("IGSYNC_ALERTS_WEBHOOK_SECRET", "s3cret");
    h.set("IGSYNC_SYNC_MAX_ATTEMPTS", "2");
    h.register(&sim).await;
    h.ok(&["sync", "--all", "--wait"], None).await;
    let store = h.db.open().await;
    let username = sim.accounts()[0].username.clone();

    // The first attempt is refused with 503; the retry one backoff later delivers.
    let (url, received) = hook(&[503]).await;
    let run = h
        .ok(
            &[
                "reports", "schedule", "--all", "--every", "weekly", "--to", &url,
            ],
            None,
        )
        .await;
    let id = schedule_id(&run.stdout);
    let run = h.ok(&["reports", "send-now", &id], None).await;
    assert!(run.stdout.contains("delivery queued as job"), "{run}");
    assert!(run.stderr.contains("attempt 1 failed"), "{run}");
    assert!(run.stderr.contains("503"), "{run}");
    assert!(run.stdout.contains("delivered (2 attempt(s))"), "{run}");
    let posts = received.lock().unwrap().clone();
    assert_eq!(posts.len(), 2, "a refused attempt and the delivery");
    let (signature, body) = &posts[1];
    assert_eq!(
        signature.as_deref(),
        Some(sync::webhook_signature("s3cret", body).as_str())
    );
    let report: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert!(
        report["subject"]
            .as_str()
            .unwrap()
            .starts_with(&format!("Weekly report for @{username}: ")),
        "{report}"
    );

    // It ran as a queued delivery job: one error, then completed.
    let jobs = store
        .job_list(store::JobQuery {
            kind: Some(sync::KIND_DELIVER_REPORT.to_string()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .jobs;
    assert_eq!(jobs.len(), 1, "{jobs:#?}");
    assert_eq!(jobs[0].state, store::JobState::Completed);
    assert_eq!(jobs[0].errors.len(), 1);
    assert!(
        jobs[0].errors[0].error.contains("503"),
        "{:?}",
        jobs[0].errors
    );

    // The history says so, in `reports list` and its JSON.
    let list = h.ok(&["reports", "list", "--json"], None).await;
    let v: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    let delivery = &v[0]["deliveries"][0];
    assert_eq!(delivery["status"], "delivered", "{v}");
    assert_eq!(delivery["attempts"], 2, "{v}");
    assert!(
        delivery["last_error"].as_str().unwrap().contains("503"),
        "{v}"
    );

    // Asked again, the same period is sent again, once.
    let run = h.ok(&["reports", "send-now", &id], None).await;
    assert!(run.stdout.contains("delivered (1 attempt(s))"), "{run}");
    assert_eq!(received.lock().unwrap().len(), 3);

    // A PDF schedule: the webhook's body is the PDF, signed like the others.
    let (url, received) = hook(&[]).await;
    let run = h
        .ok(
            &[
                "reports", "schedule", "--all", "--every", "weekly", "--to", &url, "--format",
                "pdf",
            ],
            None,
        )
        .await;
    assert!(run.stdout.contains("weekly pdf report to"), "{run}");
    let pdf_id = schedule_id(&run.stdout);
    let run = h.ok(&["reports", "send-now", &pdf_id], None).await;
    assert!(run.stdout.contains("delivered (1 attempt(s))"), "{run}");
    let posts = received.lock().unwrap().clone();
    assert_eq!(posts.len(), 1);
    let (signature, pdf) = &posts[0];
    assert_eq!(
        signature.as_deref(),
        Some(sync::webhook_signature("s3cret", pdf).as_str())
    );
    assert!(pdf.starts_with(b"%PDF-"), "{:?}", &pdf[..16.min(pdf.len())]);
    let title = format!("/Title (Weekly report for @{username}: ");
    assert!(
        pdf.windows(title.len()).any(|w| w == title.as_bytes()),
        "no {title:?} in the PDF"
    );
    let run = h
        .run(
            &[
                "reports", "schedule", "--all", "--every", "weekly", "--to", &url, "--format",
                "docx",
            ],
            None,
        )
        .await;
    assert!(!run.status.success(), "{run}");

    // A target that keeps refusing: every attempt fails, the command says so and exits
    // non-zero, and the history shows the failing delivery with its error.
    let (url, received) = hook(&[500, 500, 500]).await;
    let run = h
        .ok(
            &[
                "reports", "schedule", "--all", "--every", "weekly", "--to", &url,
            ],
            None,
        )
        .await;
    let failing = schedule_id(&run.stdout);
    let run = h.run(&["reports", "send-now", &failing], None).await;
    assert!(!run.status.success(), "{run}");
    assert!(run.stderr.contains("attempt 1 failed"), "{run}");
    assert!(
        run.stderr.contains("not delivered after 2 attempt(s)"),
        "{run}"
    );
    assert!(run.stdout.contains("failing, 2 attempt(s) in all"), "{run}");
    assert_eq!(received.lock().unwrap().len(), 2);
    let list = h.ok(&["reports", "list"], None).await;
    assert!(
        list.stdout.contains("not delivered yet, 2 attempt(s)"),
        "{list}"
    );
    assert!(list.stdout.contains("500"), "{list}");

    // The dashboard's Schedules page shows both histories: the retried delivery and the
    // failing one with its error.
    let key = api_key(&h, "dashboard").await;
    let (mut server, base) = serve(&h, &[]).await;
    let client = http();
    let res = client
        .post(format!("{base}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("key={key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303, "sign-in redirects");
    let cookie = res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let page = client
        .get(format!("{base}/schedules"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for shown in [
        format!("#{id} weekly html to "),
        format!("#{failing} weekly html to "),
        format!("#{pdf_id} weekly pdf to "),
        "badge ok".to_string(),
        "badge failed".to_string(),
        "answered HTTP 500".to_string(),
    ] {
        assert!(page.contains(&shown), "{shown:?} not on the page: {page}");
    }
    server.terminate().await;
    drop(store);
    h.db.teardown().await;
}
