//! Sending a rendered report: by SMTP (lettre, rustls; the password is used for the login
//! only and never logged) or to a webhook, signed like the alert webhooks.

use base64::Engine as _;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use store::{Account, ReportSchedule};

use super::{RenderedReport, ReportFormat, SmtpSettings, SmtpTls};
use crate::WebhookUrl;
use crate::engine::Deps;
use crate::jobs::webhook_signature;

/// The attachment of a CSV or PDF report: its file name, content type and bytes.
fn attachment(
    report: &RenderedReport,
    format: ReportFormat,
) -> Option<(String, &'static str, Vec<u8>)> {
    match format {
        ReportFormat::Html => None,
        ReportFormat::Csv => Some((
            report.file_name.clone(),
            "text/csv; charset=utf-8",
            report.csv.clone().into_bytes(),
        )),
        ReportFormat::Pdf => Some((
            format!("{}.pdf", report.file_name.trim_end_matches(".csv")),
            "application/pdf",
            super::pdf::render_pdf(report),
        )),
    }
}

/// Sends the report to `to`: HTML (with the follower chart as an inline PNG) and a
/// plain-text alternative, or the plain text with the CSV or the PDF attached.
pub(super) async fn email(
    smtp: &SmtpSettings,
    to: &str,
    report: &RenderedReport,
    format: ReportFormat,
) -> Result<(), String> {
    let from: Mailbox = smtp
        .from
        .parse()
        .map_err(|e| format!("smtp.from {:?} is not an address: {e}", smtp.from))?;
    let to: Mailbox = to
        .parse()
        .map_err(|e| format!("{to:?} is not an address: {e}"))?;
    let builder = Message::builder()
        .from(from)
        .to(to)
        .subject(report.subject.clone());
    let message = if let Some((name, content_type, body)) = attachment(report, format) {
        let content_type =
            ContentType::parse(content_type).map_err(|e| format!("{content_type}: {e}"))?;
        builder.multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain(report.text.clone()))
                .singlepart(Attachment::new(name).body(body, content_type)),
        )
    } else {
        let html = SinglePart::html(report.html.clone());
        // The chart travels beside the HTML in a multipart/related, as an inline part
        // whose Content-ID the HTML's `cid:` refers to.
        let html_part = match &report.chart {
            Some(chart) => {
                let png = ContentType::parse("image/png").map_err(|e| format!("image/png: {e}"))?;
                MultiPart::related().singlepart(html).singlepart(
                    Attachment::new_inline(chart.content_id.clone()).body(chart.png.clone(), png),
                )
            }
            None => MultiPart::related().singlepart(html),
        };
        builder.multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::plain(report.text.clone()))
                .multipart(html_part),
        )
    }
    .map_err(|e| format!("cannot build the message: {e}"))?;
    let transport = match smtp.tls {
        SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host),
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host),
        SmtpTls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            &smtp.host,
        )),
    }
    .map_err(|e| format!("cannot set up SMTP to {}: {e}", smtp.host))?
    .port(smtp.port)
    .timeout(Some(std::time::Duration::from_secs(30)));
    let transport = match (&smtp.username, &smtp.password) {
        (Some(user), Some(password)) => transport.credentials(Credentials::new(
            user.clone(),
            password.expose().to_string(),
        )),
        _ => transport,
    }
    .build();
    transport.send(message).await.map(|_| ()).map_err(|e| {
        format!(
            "the mail server {}:{} refused the report: {e}",
            smtp.host, smtp.port
        )
    })
}

/// POSTs the report: the CSV (`text/csv`) or the PDF (`application/pdf`) as the body, or JSON with the figures, the
/// subject, the HTML and the follower chart it shows (PNG, base64). Signed with
/// `X-Igsync-Signature` when a webhook secret is set.
pub(super) async fn webhook(
    deps: &Deps,
    url: &WebhookUrl,
    schedule: &ReportSchedule,
    account: &Account,
    report: &RenderedReport,
    format: ReportFormat,
) -> Result<(), String> {
    let (content_type, body) = if let Some((_, content_type, body)) = attachment(report, format) {
        (content_type, body)
    } else {
        let figures: Vec<_> = report
            .figures
            .iter()
            .map(|r| {
                serde_json::json!({
                    "key": r.key,
                    "label": r.label,
                    "unit": r.unit.key(),
                    "value": r.current,
                    "previous": r.previous,
                    "change_pct": r.change_pct,
                    "note": r.note,
                })
            })
            .collect();
        let value = serde_json::json!({
            "schedule_id": schedule.id,
            "account_id": account.id,
            "username": account.username,
            "period": { "start": report.period_start, "end": report.period_end },
            "subject": report.subject,
            "figures": figures,
            // Absent (null) when no competitor is tracked through the account.
            "peer_benchmark": report.peers.as_ref().map(|p| serde_json::json!({
                "competitors": p.competitors,
                "ranks": p.rows.iter().map(|r| serde_json::json!({
                    "key": r.key,
                    "label": r.label,
                    "unit": r.unit.key(),
                    "value": r.ours,
                    "rank": r.rank,
                    "of": r.of,
                    "peer_median": r.peer_median,
                    "note": r.note,
                })).collect::<Vec<_>>(),
            })),
            "link": report.link,
            "html": report.html,
            // The image the HTML's `cid:` refers to.
            "chart": report.chart.as_ref().map(|c| serde_json::json!({
                "content_id": c.content_id,
                "content_type": "image/png",
                "alt": c.alt,
                "png_base64": base64::engine::general_purpose::STANDARD.encode(&c.png),
            })),
        });
        ("application/json", value.to_string().into_bytes())
    };
    let mut request = deps
        .http
        .post(url.expose())
        .header("content-type", content_type)
        .header("x-igsync-report-schedule", schedule.id.to_string());
    if let Some(secret) = &deps.settings.alerts.webhook_secret {
        request = request.header(
            "x-igsync-signature",
            webhook_signature(secret.expose(), &body),
        );
    }
    match request.body(body).send().await {
        Ok(response) if response.status().is_success() => Ok(()),
        Ok(response) => Err(format!(
            "the webhook at {url} answered HTTP {}",
            response.status()
        )),
        Err(e) => Err(format!(
            "the webhook at {url} could not be reached: {}",
            e.without_url()
        )),
    }
}
