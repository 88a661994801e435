//! The page shell every dashboard page shares (navigation, sign-out form, flash message),
//! HTML error pages, and small formatting helpers (relative times, badges, CSRF fields).

use axum::http::StatusCode;
use axum::http::header::{HeaderValue, LOCATION};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};

use crate::charts::escape;
use crate::error::AppError;

/// Which navigation entry is active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Overview,
    Queue,
    Schedules,
    Alerts,
}

/// One page to render inside the shell.
pub(crate) struct Page<'a> {
    pub(crate) title: String,
    pub(crate) nav: Option<Nav>,
    /// The session's CSRF token (for the sign-out form); `None` on the sign-in page.
    pub(crate) csrf: Option<&'a str>,
    pub(crate) flash: Option<Flash>,
    /// A JSON endpoint the page's live elements are refreshed from.
    pub(crate) live_src: Option<&'a str>,
    pub(crate) body: String,
}

/// A message shown once at the top of a page, after a form post redirected to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Flash {
    pub(crate) error: bool,
    pub(crate) message: String,
}

impl Flash {
    /// Reads `?ok=<code>&n=<count>` or `?err=<code>` from a query string. Only known codes
    /// produce text, so a crafted link cannot put arbitrary words on the page.
    pub(crate) fn from_query(query: Option<&str>) -> Option<Flash> {
        let form = super::form::FormData::parse_str(query.unwrap_or_default()).ok()?;
        let n = form.get_i64("n").ok().flatten().unwrap_or(0);
        if let Some(code) = form.get("ok") {
            let message = match code {
                "retried" => format!("{n} job(s) retried: they are pending and due now."),
                "cancelled" => format!("{n} job(s) cancelled."),
                "deleted" => format!("{n} job(s) deleted."),
                "sync_queued" => "Sync queued: a worker will pick it up shortly.".to_owned(),
                "sync_merged" => "A sync of this account is already queued or running.".to_owned(),
                "paused" => "Schedule paused.".to_owned(),
                "resumed" => "Schedule resumed; its next run is the next tick from now.".to_owned(),
                "run" => "Schedule run now: its job is queued.".to_owned(),
                "acked" => "Alert acknowledged.".to_owned(),
                "share_revoked" => "Share link revoked: it stops working at once.".to_owned(),
                "reconnected" => {
                    "Reconnected: the new token is stored and a sync is queued.".to_owned()
                }
                _ => return None,
            };
            return Some(Flash {
                error: false,
                message,
            });
        }
        let message = match form.get("err")? {
            "nothing" => "No job matched: nothing changed.".to_owned(),
            "not_retryable" => "Only failed, cancelled or pending jobs can be retried.".to_owned(),
            "not_cancellable" => "Only pending or running jobs can be cancelled.".to_owned(),
            "running" => "A running job cannot be deleted; cancel it first.".to_owned(),
            "no_selection" => "Select at least one job first.".to_owned(),
            _ => return None,
        };
        Some(Flash {
            error: true,
            message,
        })
    }
}

/// The full HTML document of a page.
pub(crate) fn render(page: Page<'_>) -> Response {
    render_with_status(StatusCode::OK, page)
}

pub(crate) fn render_with_status(status: StatusCode, page: Page<'_>) -> Response {
    let mut out = String::with_capacity(page.body.len() + 2048);
    out.push_str(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
    );
    out.push_str(&format!("<title>{} · igsync</title>", escape(&page.title)));
    out.push_str(
        "<link rel=\"stylesheet\" href=\"/assets/igsync.css\">\
         <script src=\"/assets/igsync.js\" defer></script></head>",
    );
    match page.live_src {
        Some(src) => out.push_str(&format!("<body data-live-src=\"{}\">", escape(src))),
        None => out.push_str("<body>"),
    }
    if let Some(csrf) = page.csrf {
        out.push_str("<nav class=\"nav\"><a class=\"brand\" href=\"/\">igsync</a>");
        for (nav, href, label) in [
            (Nav::Overview, "/", "Overview"),
            (Nav::Queue, "/queue", "Queue"),
            (Nav::Schedules, "/schedules", "Schedules"),
            (Nav::Alerts, "/alerts", "Alerts"),
        ] {
            let class = if page.nav == Some(nav) {
                " class=\"active\""
            } else {
                ""
            };
            out.push_str(&format!("<a href=\"{href}\"{class}>{label}</a>"));
        }
        out.push_str(&format!(
            "<span class=\"spacer\"></span><span class=\"sub\" data-live-status></span>\
             <form method=\"post\" action=\"/logout\">{}<button type=\"submit\">Sign out</button></form></nav>",
            csrf_field(csrf)
        ));
    }
    out.push_str("<main>");
    if let Some(flash) = &page.flash {
        let class = if flash.error { "flash error" } else { "flash" };
        out.push_str(&format!(
            "<div class=\"{class}\" role=\"status\">{}</div>",
            escape(&flash.message)
        ));
    }
    out.push_str(&page.body);
    out.push_str("</main></body></html>\n");
    (status, Html(out)).into_response()
}

/// An error as an HTML page (dashboard routes never answer with JSON errors).
pub(crate) struct PageError(pub(crate) AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(err: E) -> Self {
        PageError(err.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        if status.is_server_error() {
            tracing::error!(error = %self.0, code = self.0.code(), "dashboard request failed");
        }
        let body = format!(
            "<div class=\"panel\"><h1>{} {}</h1><p>{}</p><p><a href=\"/\">Back to the overview</a></p></div>",
            status.as_u16(),
            escape(status.canonical_reason().unwrap_or("Error")),
            escape(&self.0.public_message())
        );
        let mut res = render_with_status(
            status,
            Page {
                title: format!("{}", status.as_u16()),
                nav: None,
                csrf: None,
                flash: None,
                live_src: None,
                body,
            },
        );
        self.0.mark(&mut res);
        res
    }
}

pub(crate) type PageResult = Result<Response, PageError>;

/// A 303 redirect (the answer to every successful form post).
pub(crate) fn see_other(location: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        res.headers_mut().insert(LOCATION, value);
    }
    res
}

/// The hidden CSRF field of a form.
pub(crate) fn csrf_field(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        escape(token)
    )
}

/// A one-button form posting to `action`.
pub(crate) fn post_button(
    action: &str,
    label: &str,
    csrf: &str,
    class: &str,
    confirm: Option<&str>,
) -> String {
    let confirm = confirm
        .map(|c| format!(" data-confirm=\"{}\"", escape(c)))
        .unwrap_or_default();
    format!(
        "<form class=\"inline\" method=\"post\" action=\"{}\"{confirm}>{}<button type=\"submit\" class=\"{}\">{}</button></form>",
        escape(action),
        csrf_field(csrf),
        escape(class),
        escape(label)
    )
}

/// A status badge.
pub(crate) fn badge(class: &str, label: &str) -> String {
    format!(
        "<span class=\"badge {}\">{}</span>",
        escape(class),
        escape(label)
    )
}

/// "3 min ago" / "in 2 h", with the exact UTC time as a tooltip.
pub(crate) fn when(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match at {
        None => "<span class=\"sub\">never</span>".to_owned(),
        Some(at) => format!(
            "<time datetime=\"{}\" title=\"{}\">{}</time>",
            at.to_rfc3339(),
            at.format("%Y-%m-%d %H:%M:%S UTC"),
            escape(&relative(at, now))
        ),
    }
}

/// A relative time in words.
pub(crate) fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - at).num_seconds();
    let (abs, future) = (secs.unsigned_abs(), secs < 0);
    let amount = human_duration(abs);
    if abs < 5 {
        "just now".to_owned()
    } else if future {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// `42 s`, `5 min`, `3 h`, `2 d`.
pub(crate) fn human_duration(secs: u64) -> String {
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3_599 => format!("{} min", secs / 60),
        3_600..=172_799 => format!("{} h", secs / 3_600),
        _ => format!("{} d", secs / 86_400),
    }
}

/// A duration in milliseconds for a table: `850 ms`, `3.2 s`, `4 min`.
pub(crate) fn duration_ms(ms: i64) -> String {
    crate::charts::format_duration_ms(ms as f64)
}

/// Text cut to `max` characters on one line.
pub(crate) fn clip(text: &str, max: usize) -> String {
    crate::report::short_caption(Some(text), max)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn flash_only_knows_fixed_messages() {
        assert_eq!(
            Flash::from_query(Some("ok=retried&n=3")).unwrap().message,
            "3 job(s) retried: they are pending and due now."
        );
        assert!(Flash::from_query(Some("err=running")).unwrap().error);
        assert_eq!(Flash::from_query(Some("ok=%3Cscript%3E")), None);
        assert_eq!(Flash::from_query(None), None);
    }

    #[test]
    fn relative_times_read_naturally() {
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        assert_eq!(
            relative(now - chrono::Duration::minutes(5), now),
            "5 min ago"
        );
        assert_eq!(relative(now + chrono::Duration::hours(3), now), "in 3 h");
        assert_eq!(relative(now - chrono::Duration::days(3), now), "3 d ago");
        assert_eq!(relative(now, now), "just now");
        assert!(when(None, now).contains("never"));
        assert!(when(Some(now), now).contains("2026-03-01 12:00:00 UTC"));
    }
}
