//! Scheduled reports end to end: a minimal SMTP server and a webhook endpoint started by the
//! test receive the last complete week's report (the mail with its follower chart, a day
//! without a sample as a gap, as an inline PNG); a refused first attempt is retried and
//! shows in the delivery history; a delivered period is not delivered again.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use chrono::Datelike as _;

use store::SecretString;
use sync::{Every, Plan, ReportFormat, SmtpSettings, SmtpTls};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::both_dialects;
use crate::db::Dialect;
use crate::env::{Env, sim_config, test_settings};

both_dialects!(
    scheduled_reports_are_delivered_by_smtp_and_webhook_once_per_period,
    a_scheduled_report_ranks_the_account_among_its_competitors_only_when_it_has_some,
);

/// A plain SMTP server on port 0: EHLO/HELO, MAIL, RCPT, DATA (dot-stuffing undone), RSET,
/// NOOP, QUIT. The first `refuse` messages are answered `554` after their data; the others
/// are recorded.
struct Smtp {
    port: u16,
    received: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn smtp_start(refuse: usize) -> Smtp {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(Mutex::new(Vec::new()));
    let refused = Arc::new(Mutex::new(0usize));
    let rec = received.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let rec = rec.clone();
            let refused = refused.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read);
                let _ = write.write_all(b"220 test.local ESMTP\r\n").await;
                let mut line = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-test.local\r\n250 8BITMIME\r\n",
                        "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 OK\r\n",
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        }
                        "DATA" => {
                            let _ = write.write_all(b"354 go on\r\n").await;
                            let mut data = String::new();
                            loop {
                                line.clear();
                                if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                                    return;
                                }
                                if line == ".\r\n" {
                                    break;
                                }
                                // Undo the sender's dot-stuffing (RFC 5321 4.5.2).
                                data.push_str(line.strip_prefix('.').unwrap_or(&line));
                            }
                            let refuse_this = {
                                let mut n = refused.lock().unwrap();
                                *n += 1;
                                *n <= refuse
                            };
                            if refuse_this {
                                b"554 5.7.1 rejected by the test\r\n"
                            } else {
                                rec.lock().unwrap().push(data);
                                b"250 queued\r\n"
                            }
                        }
                        _ => b"502 not implemented\r\n",
                    };
                    if write.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Smtp {
        port,
        received,
        task,
    }
}

/// Undoes quoted-printable soft breaks and escapes (text that was sent 7bit is unchanged
/// unless it holds `=XX`, which the rendered reports do not).
fn unqp(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).replace("\r\n", "\n")
}

/// The `Content-ID` (without brackets) and the decoded body of the message's one inline
/// image part, which must be `image/png`.
fn inline_image(raw: &str) -> (String, Vec<u8>) {
    let parts: Vec<&str> = raw
        .split("\r\n--")
        .filter(|p| p.contains("Content-ID:"))
        .collect();
    assert_eq!(parts.len(), 1, "one inline part in {raw}");
    let (headers, body) = parts[0].split_once("\r\n\r\n").unwrap();
    assert!(headers.contains("Content-Type: image/png"), "{headers}");
    assert!(headers.contains("Content-Disposition: inline"), "{headers}");
    assert!(
        headers.contains("Content-Transfer-Encoding: base64"),
        "{headers}"
    );
    let cid = headers
        .split_once("Content-ID: <")
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(id, _)| id.to_string())
        .unwrap();
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let png = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    (cid, png)
}

/// The headers and the decoded body of the message's one attachment of `content_type`.
fn attachment(raw: &str, content_type: &str) -> (String, Vec<u8>) {
    let parts: Vec<&str> = raw
        .split("\r\n--")
        .filter(|p| p.contains(&format!("Content-Type: {content_type}")))
        .collect();
    assert_eq!(parts.len(), 1, "one {content_type} part in {raw}");
    let (headers, body) = parts[0].split_once("\r\n\r\n").unwrap();
    assert!(
        headers.contains("Content-Disposition: attachment"),
        "{headers}"
    );
    assert!(
        headers.contains("Content-Transfer-Encoding: base64"),
        "{headers}"
    );
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    (headers.to_string(), bytes)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn scheduled_reports_are_delivered_by_smtp_and_webhook_once_per_period(d: Dialect) {
    let smtp = smtp_start(1).await;
    let hook = crate::webhook::start(&[503]).await;
    let mut settings = test_settings();
    settings.smtp = Some(SmtpSettings {
        host: "127.0.0.1".into(),
        port: smtp.port,
        username: None,
        password: None,
        from: "igsync@example.com".into(),
        tls: SmtpTls::None,
    });
    settings.public_url = Some("https://igsync.example.com/".into());
    settings.alerts.webhook_secret = Some(SecretString::new("s3cret"));
    let env = Env::new(d, sim_config(61, 1, 12), settings).await;
    let (id, _) = env.account(0);
    // A sync (and so a follower sample) every day until a Monday more than two weeks later,
    // except on the last week's Wednesday: the report's chart has a line with a gap, and
    // enough history for the forecast's band (14 days with a value before that Monday, even
    // when the first day is itself a Monday).
    let tz = env
        .db
        .store
        .account_get(id)
        .await
        .unwrap()
        .unwrap()
        .time_zone()
        .unwrap();
    let today = |env: &Env| env.now().with_timezone(&tz).date_naive();
    let first = today(&env);
    let monday = (15..22)
        .map(|n| first + chrono::Duration::days(n))
        .find(|d| d.weekday() == chrono::Weekday::Mon)
        .unwrap();
    let skipped = monday - chrono::Duration::days(5);
    loop {
        let day = today(&env);
        if day != skipped {
            env.engine.enqueue_all(Plan::Full, "manual").await.unwrap();
            env.run_until_settled(5).await;
        }
        if day >= monday {
            break;
        }
        env.advance(chrono::Duration::days(1));
    }

    // Without a mail server an email schedule is refused, and `serve` is told of the ones
    // that exist.
    let no_smtp = env.second_engine(test_settings()).await;
    let refused = no_smtp
        .report_schedule_create(
            Some(id),
            Every::Weekly,
            "team@example.com",
            ReportFormat::Html,
        )
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("smtp.host"), "{refused}");

    let html_mail = env
        .engine
        .report_schedule_create(
            Some(id),
            Every::Weekly,
            "team@example.com",
            ReportFormat::Html,
        )
        .await
        .unwrap();
    let csv_mail = env
        .engine
        .report_schedule_create(None, Every::Weekly, "data@example.com", ReportFormat::Csv)
        .await
        .unwrap();
    let webhook = env
        .engine
        .report_schedule_create(Some(id), Every::Weekly, &hook.url, ReportFormat::Html)
        .await
        .unwrap();
    let pdf_mail = env
        .engine
        .report_schedule_create(
            Some(id),
            Every::Weekly,
            "pdf@example.com",
            ReportFormat::Pdf,
        )
        .await
        .unwrap();
    assert_eq!(pdf_mail.schedule.format, "pdf");
    assert!(env.engine.report_problems().await.unwrap().is_empty());
    assert_eq!(no_smtp.report_problems().await.unwrap().len(), 3);

    assert_eq!(env.engine.enqueue_due_reports().await.unwrap(), 4);
    env.run_until_settled(10).await;

    // What the deliveries should hold: the report of the last complete week.
    let store = env.db.store.clone();
    let account = store.account_get(id).await.unwrap().unwrap();
    let tz = account.time_zone().unwrap();
    let (start, end) = Every::Weekly.last_complete(env.now().with_timezone(&tz).date_naive());
    let period = analytics::Period::new(start, end).unwrap();
    let report = sync::build_report(store.as_ref(), &account, period, env.now())
        .await
        .unwrap();
    let expected = sync::render_report(
        &report,
        &account,
        Every::Weekly,
        Some("https://igsync.example.com"),
    );
    assert!(
        expected.figures[0].current.is_some(),
        "followers are known after a sync: {:?}",
        expected.figures[0]
    );
    let subject = format!("Weekly report for @{}: {start} to {end}", account.username);
    assert_eq!(expected.subject, subject);

    // Three messages arrived (the first attempt was refused and retried).
    let mails = smtp.received.lock().unwrap().clone();
    assert_eq!(mails.len(), 3, "{mails:#?}");
    let html = mails
        .iter()
        .map(|m| unqp(m))
        .find(|m| m.contains("To: team@example.com"))
        .expect("the HTML report");
    assert!(html.contains(&format!("Subject: {subject}")), "{html}");
    assert!(html.contains("Content-Type: text/html"), "{html}");
    for line in expected.text.lines().filter(|l| !l.is_empty()) {
        assert!(html.contains(line), "missing {line:?} in {html}");
    }
    assert!(html.contains(&format!(
        "https://igsync.example.com/accounts/{id}?from={start}&amp;to={end}"
    )));

    // The follower chart: a PNG in a multipart/related beside the HTML, whose Content-ID is
    // the HTML's `cid:`, with the alt text the report renders.
    let chart = expected
        .chart
        .as_ref()
        .expect("a follower chart after a sync");
    let raw = mails
        .iter()
        .find(|m| m.contains("To: team@example.com"))
        .unwrap();
    assert!(raw.contains("multipart/alternative"), "{raw}");
    assert!(raw.contains("multipart/related"), "{raw}");
    let (cid, png) = inline_image(raw);
    assert_eq!(cid, chart.content_id);
    assert!(
        html.contains(&format!("<img src=\"cid:{cid}\"")),
        "no cid:{cid} in {html}"
    );
    assert!(
        html.contains(&format!(
            "Followers per day from {start} to {end}: 6 of 7 days have a sample"
        )),
        "{html}"
    );
    assert!(chart.alt.contains("; forecast to "), "{}", chart.alt);
    assert!(html.contains("% band: about "), "{html}");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let image = tiny_skia::Pixmap::decode_png(&png).unwrap();
    assert_eq!((image.width(), image.height()), (1200, 360));
    assert_eq!(png, chart.png, "the mail carries the rendered chart");
    let csv = mails
        .iter()
        .map(|m| unqp(m))
        .find(|m| m.contains("To: data@example.com"))
        .expect("the CSV report");
    assert!(csv.contains(&expected.file_name), "{csv}");
    for line in expected.csv.lines() {
        assert!(csv.contains(line), "missing {line:?} in {csv}");
    }

    // The PDF: the plain text with one application/pdf attachment holding the title, the
    // figures and the follower chart as an image.
    let pdf_raw = mails
        .iter()
        .find(|m| m.contains("To: pdf@example.com"))
        .expect("the PDF report");
    assert!(pdf_raw.contains("multipart/mixed"), "{pdf_raw}");
    let (headers, pdf) = attachment(pdf_raw, "application/pdf");
    let pdf_name = expected.file_name.replace(".csv", ".pdf");
    assert!(headers.contains(&pdf_name), "{headers}");
    assert!(pdf.starts_with(b"%PDF-"), "{:?}", &pdf[..16.min(pdf.len())]);
    assert!(contains(&pdf, format!("/Title ({subject})").as_bytes()));
    assert!(contains(&pdf, b"(Followers) Tj"));
    // The value as the mail's text shows it: `Followers: 1,234 (previous …`.
    let followers = expected
        .text
        .lines()
        .find_map(|l| l.strip_prefix("Followers: "))
        .and_then(|l| l.split_once(" (previous"))
        .map(|(v, _)| v.to_string())
        .unwrap();
    assert!(
        contains(&pdf, format!("({followers}) Tj").as_bytes()),
        "{followers}"
    );
    assert!(contains(&pdf, b"/Subtype /Image"));
    assert!(contains(&pdf, b"/Im1 Do"));
    assert!(!contains(&pdf, b"/FontFile"));

    // The webhook got a 503, then the report, signed.
    let posts = hook.received.lock().unwrap().clone();
    assert_eq!(posts.len(), 2);
    let last = &posts[1];
    assert_eq!(
        last.headers.get("x-igsync-signature").unwrap(),
        &sync::webhook_signature("s3cret", &last.body)
    );
    let body: serde_json::Value = serde_json::from_slice(&last.body).unwrap();
    assert_eq!(body["subject"], subject.as_str());
    assert_eq!(body["period"]["start"], start.to_string());
    assert_eq!(
        body["figures"][0]["value"].as_f64(),
        expected.figures[0].current
    );
    // The chart the HTML refers to travels with it.
    let cid = body["chart"]["content_id"].as_str().unwrap();
    assert!(
        body["html"]
            .as_str()
            .unwrap()
            .contains(&format!("cid:{cid}"))
    );
    let png = base64::engine::general_purpose::STANDARD
        .decode(body["chart"]["png_base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    // The history: every schedule delivered; the failures are there with their errors.
    let history = store.report_delivery_list(None, 0).await.unwrap();
    assert_eq!(history.len(), 4, "{history:#?}");
    assert!(
        history
            .iter()
            .all(|h| h.delivered_at.is_some() && h.period_start == start)
    );
    let of = |s: i64| history.iter().find(|h| h.schedule_id == s).unwrap();
    let hook_row = of(webhook.id);
    assert_eq!(hook_row.attempts, 2);
    assert!(
        hook_row.last_error.as_deref().unwrap().contains("503"),
        "{hook_row:?}"
    );
    let mail_attempts =
        of(html_mail.id).attempts + of(csv_mail.id).attempts + of(pdf_mail.id).attempts;
    assert_eq!(mail_attempts, 4);
    let mail_error = [of(html_mail.id), of(csv_mail.id), of(pdf_mail.id)]
        .iter()
        .find_map(|h| h.last_error.clone())
        .unwrap();
    assert!(mail_error.contains("554"), "{mail_error}");

    // The same period is never delivered twice.
    assert_eq!(env.engine.enqueue_due_reports().await.unwrap(), 0);
    env.advance_engine(chrono::Duration::hours(2));
    env.engine.maintain().await.unwrap();
    env.run_until_settled(5).await;
    assert_eq!(smtp.received.lock().unwrap().len(), 3);
    assert_eq!(hook.received.lock().unwrap().len(), 2);
    no_smtp.worker().ok();
    env.teardown().await;
}

/// Two accounts synced daily for over a week; competitors are tracked through the first only.
/// Its weekly mail (HTML and PDF) carries the peer benchmark `build_report` gives the account
/// page, rank by rank; the other account's mail says nothing of peers or competitors.
async fn a_scheduled_report_ranks_the_account_among_its_competitors_only_when_it_has_some(
    d: Dialect,
) {
    let smtp = smtp_start(0).await;
    let mut settings = test_settings();
    settings.smtp = Some(SmtpSettings {
        host: "127.0.0.1".into(),
        port: smtp.port,
        username: None,
        password: None,
        from: "igsync@example.com".into(),
        tls: SmtpTls::None,
    });
    let env = Env::new(d, sim_config(62, 2, 12), settings).await;
    let (with_peers, _) = env
        .accounts
        .iter()
        .find(|(_, a)| a.login == simulator::LoginKind::Facebook)
        .map(|(id, a)| (*id, a.clone()))
        .unwrap();
    let (without, _) = env
        .accounts
        .iter()
        .find(|(id, _)| *id != with_peers)
        .map(|(id, a)| (*id, a.clone()))
        .unwrap();
    for c in env
        .sim
        .competitors()
        .into_iter()
        .filter(|c| {
            matches!(
                c.kind,
                simulator::CompetitorKind::Business | simulator::CompetitorKind::Creator
            )
        })
        .take(4)
    {
        env.engine
            .competitor_add(&c.username, with_peers)
            .await
            .unwrap();
    }
    let tz = env
        .db
        .store
        .account_get(with_peers)
        .await
        .unwrap()
        .unwrap()
        .time_zone()
        .unwrap();
    let today = |env: &Env| env.now().with_timezone(&tz).date_naive();
    let first = today(&env);
    let monday = (8..15)
        .map(|n| first + chrono::Duration::days(n))
        .find(|d| d.weekday() == chrono::Weekday::Mon)
        .unwrap();
    loop {
        env.engine.enqueue_all(Plan::Full, "manual").await.unwrap();
        env.engine.competitor_sync().await.unwrap();
        env.run_until_settled(20).await;
        if today(&env) >= monday {
            break;
        }
        env.advance(chrono::Duration::days(1));
    }
    for (id, to) in [
        (with_peers, "peers@example.com"),
        (without, "alone@example.com"),
    ] {
        env.engine
            .report_schedule_create(Some(id), Every::Weekly, to, ReportFormat::Html)
            .await
            .unwrap();
    }
    env.engine
        .report_schedule_create(
            Some(with_peers),
            Every::Weekly,
            "pdf@example.com",
            ReportFormat::Pdf,
        )
        .await
        .unwrap();
    assert_eq!(env.engine.enqueue_due_reports().await.unwrap(), 3);
    env.run_until_settled(10).await;
    let mails = smtp.received.lock().unwrap().clone();
    assert_eq!(mails.len(), 3);
    let mail_to = |to: &str| {
        mails
            .iter()
            .map(|m| unqp(m))
            .find(|m| m.contains(&format!("To: {to}")))
            .unwrap_or_else(|| panic!("no mail to {to}"))
    };

    // The benchmark the account page shows, for the mail's period.
    let account = env.db.store.account_get(with_peers).await.unwrap().unwrap();
    let (start, end) = Every::Weekly.last_complete(env.now().with_timezone(&tz).date_naive());
    let period = analytics::Period::new(start, end).unwrap();
    let report = sync::build_report(env.db.store.as_ref(), &account, period, env.now())
        .await
        .unwrap();
    let peers = report.peers.as_ref().expect("competitors are tracked");
    assert_eq!(peers.competitors, 4);
    let ranked: Vec<_> = peers.ranks.iter().filter(|r| r.rank.is_some()).collect();
    assert!(!ranked.is_empty(), "{peers:?}");

    let html = mail_to("peers@example.com");
    assert!(
        html.contains("Peer benchmark (among 4 competitors, 1 = best)"),
        "{html}"
    );
    for r in &peers.ranks {
        let label = analytics::definition(r.figure).unwrap().label;
        let rank = r
            .rank
            .map_or_else(|| "n/a".to_string(), |n| format!("{n} of {}", r.of));
        // The text part: `label: value (rank R of N, competitors' median M)`.
        let line = html
            .lines()
            .find(|l| l.starts_with(&format!("{label}: ")) && l.contains("(rank "))
            .unwrap_or_else(|| panic!("no peer line for {label} in {html}"));
        assert!(line.contains(&format!("(rank {rank}, ")), "{line}");
        // The HTML table: the rank in its cell.
        assert!(html.contains(&format!(">{rank}</td>")), "{rank} in {html}");
    }
    let (_, pdf) = attachment(
        smtp.received
            .lock()
            .unwrap()
            .iter()
            .find(|m| m.contains("To: pdf@example.com"))
            .unwrap(),
        "application/pdf",
    );
    assert!(contains(&pdf, b"Peer benchmark"));
    for r in &ranked {
        let rank = format!("({} of {}) Tj", r.rank.unwrap(), r.of);
        assert!(contains(&pdf, rank.as_bytes()), "{rank}");
    }

    // The account without competitors: no section, no word of peers.
    let alone = mail_to("alone@example.com");
    assert!(alone.contains("Content-Type: text/html"), "{alone}");
    for word in ["Peer", "peer", "competitor", "Competitor", "rank"] {
        assert!(!alone.contains(word), "{word:?} in {alone}");
    }
    env.teardown().await;
}
