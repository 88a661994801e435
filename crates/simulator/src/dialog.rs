//! The login dialogs, served as Meta serves them on www.facebook.com and www.instagram.com:
//! Facebook Login for Business (`GET /v{N}/dialog/oauth`) and Business Login for Instagram
//! (`GET /oauth/authorize`). Each shows an HTML consent page — who logs in, a checkbox per
//! requested scope, Continue and Cancel — and redirects to `redirect_uri` with a single-use
//! `code` and the `state`, or with Meta's `access_denied` error.
//!
//! Scripts consent without a browser: `sim_auto=consent` (or `cancel`) redirects at once,
//! `sim_decline=a,b` declines scopes and `sim_user` picks the login user; the same can be set
//! for every dialog with [`crate::SimServer::set_login_auto`] when the URL is built by the
//! program under test.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::api::params::{Params, encode};
use crate::hash::{self, h, hs};
use crate::login::AuthCode;
use crate::state::SimState;
use crate::world::LoginKind;

/// How long a Facebook Login code stays valid (simulated seconds).
pub(crate) const FB_CODE_LIFETIME: i64 = 10 * 60;
/// How long an Instagram Login code stays valid (simulated seconds).
pub(crate) const IG_CODE_LIFETIME: i64 = 3600;

/// Consent given on behalf of whoever opens a dialog, for scripts and tests that follow a
/// dialog URL built by someone else.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoginAuto {
    /// Press Cancel instead of Continue.
    pub cancel: bool,
    /// Scopes to untick before pressing Continue.
    pub decline: Vec<String>,
    /// The login user to log in as (Facebook user id, or an Instagram username, account id
    /// or app-scoped id); default the first.
    pub user: Option<String>,
}

/// An HTTP answer of a dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page {
    pub(crate) status: u16,
    /// `Location` of a redirect.
    pub(crate) location: Option<String>,
    /// HTML body.
    pub(crate) html: String,
}

fn error_page(title: &str, detail: &str) -> Page {
    Page {
        status: 400,
        location: None,
        html: format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
             <body><h1>{t}</h1><p>{d}</p></body></html>",
            t = escape(title),
            d = escape(detail)
        ),
    }
}

fn redirect(url: String) -> Page {
    Page {
        status: 302,
        location: Some(url),
        html: String::new(),
    }
}

/// Escapes text for HTML.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn split_scopes(raw: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in raw
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if !out.iter().any(|x| x == s) {
            out.push(s.to_owned());
        }
    }
    out
}

fn absolute_http(url: &str) -> bool {
    (url.starts_with("http://") || url.starts_with("https://"))
        && url.len() > 8
        && !url.contains('#')
        && url.chars().all(|c| c.is_ascii_graphic())
}

fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let mut url = base.to_owned();
    let mut sep = if base.contains('?') { '&' } else { '?' };
    for (k, v) in pairs {
        url.push(sep);
        url.push_str(k);
        url.push('=');
        url.push_str(&encode(v));
        sep = '&';
    }
    url
}

/// What the user chose.
enum Choice {
    Consent { granted: Vec<String> },
    Cancel,
}

/// The request of one dialog, from the query (GET) or the submitted form (POST).
struct DialogRequest {
    params: Params,
    submitted: bool,
}

impl DialogRequest {
    fn new(query: &str, form: Option<&str>) -> DialogRequest {
        let mut params = Params::parse(query);
        let submitted = form.is_some();
        if let Some(f) = form {
            params.extend(Params::parse(f));
        }
        DialogRequest { params, submitted }
    }

    fn get(&self, k: &str) -> &str {
        self.params.get(k).unwrap_or("").trim()
    }

    fn all(&self, k: &str) -> Vec<String> {
        self.params
            .0
            .iter()
            .filter(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// Who logs in: a Facebook login user index or an Instagram account index.
fn pick_user(st: &SimState, login: LoginKind, wanted: &str) -> Option<usize> {
    match login {
        LoginKind::Facebook => {
            if wanted.is_empty() {
                return (!st.logins.facebook.is_empty()).then_some(0);
            }
            st.logins.facebook.iter().position(|u| u.id == wanted)
        }
        LoginKind::Instagram => {
            if wanted.is_empty() {
                return st.logins.instagram.first().copied();
            }
            st.logins.instagram.iter().copied().find(|a| {
                let acct = &st.world.accounts[*a];
                acct.username == wanted || acct.ig_user_id == wanted || acct.app_scoped_id == wanted
            })
        }
    }
}

fn user_key(st: &SimState, login: LoginKind, who: usize) -> String {
    match login {
        LoginKind::Facebook => st.logins.facebook[who].id.clone(),
        LoginKind::Instagram => st.world.accounts[who].app_scoped_id.clone(),
    }
}

fn user_label(st: &SimState, login: LoginKind, who: usize) -> String {
    match login {
        LoginKind::Facebook => st.logins.facebook[who].name.clone(),
        LoginKind::Instagram => format!("@{}", st.world.accounts[who].username),
    }
}

/// `GET|POST /v{N}/dialog/oauth` (Facebook Login for Business).
pub(crate) fn facebook(st: &SimState, path: &str, query: &str, form: Option<&str>) -> Page {
    dialog(st, LoginKind::Facebook, path, query, form)
}

/// `GET|POST /oauth/authorize` (Business Login for Instagram).
pub(crate) fn instagram(st: &SimState, query: &str, form: Option<&str>) -> Page {
    dialog(st, LoginKind::Instagram, "/oauth/authorize", query, form)
}

fn dialog(st: &SimState, login: LoginKind, path: &str, query: &str, form: Option<&str>) -> Page {
    let req = DialogRequest::new(query, form);
    let client_id = req.get("client_id");
    if client_id != st.app_id {
        return error_page(
            "Invalid App ID",
            "The provided app ID does not look like a valid app ID.",
        );
    }
    let redirect_uri = req.get("redirect_uri").to_owned();
    if !absolute_http(&redirect_uri) {
        return error_page(
            "URL blocked",
            "This redirect failed because the redirect URI is missing or is not an absolute http(s) URL.",
        );
    }
    if login == LoginKind::Instagram && req.get("response_type") != "code" {
        return error_page("Invalid request", "response_type must be code.");
    }
    let mut requested = split_scopes(req.get("scope"));
    if login == LoginKind::Instagram && !requested.iter().any(|s| s == "instagram_business_basic") {
        return error_page(
            "Invalid scope",
            "Invalid scope field(s): the scope must include instagram_business_basic.",
        );
    }
    if login == LoginKind::Facebook && !requested.iter().any(|s| s == "public_profile") {
        requested.insert(0, "public_profile".to_owned());
    }
    let auto = st.read().login_auto.clone();
    let wanted = match req.get("sim_user") {
        "" => auto
            .as_ref()
            .and_then(|a| a.user.clone())
            .unwrap_or_default(),
        u => u.to_owned(),
    };
    let Some(who) = pick_user(st, login, &wanted) else {
        return error_page(
            "Unknown user",
            "No login user of this simulated world matches sim_user.",
        );
    };
    // Scopes declined before are not asked again unless the app asks to rerequest them.
    let key = user_key(st, login, who);
    let remembered: BTreeSet<String> = st.read().declined.get(&key).cloned().unwrap_or_default();
    let rerequest = req.get("auth_type") == "rerequest";
    let (asked, kept_declined): (Vec<String>, Vec<String>) = requested
        .iter()
        .cloned()
        .partition(|s| rerequest || !remembered.contains(s) || s == "public_profile");

    let choice = if req.submitted {
        if req.get("action") == "cancel" {
            Choice::Cancel
        } else {
            let ticked = req.all("grant");
            Choice::Consent {
                granted: asked
                    .iter()
                    .filter(|s| *s == "public_profile" || ticked.contains(s))
                    .cloned()
                    .collect(),
            }
        }
    } else {
        let mode = req.get("sim_auto");
        let declined_now = split_scopes(req.get("sim_decline"));
        match (mode, &auto) {
            ("cancel", _) => Choice::Cancel,
            ("consent", _) => Choice::Consent {
                granted: asked
                    .iter()
                    .filter(|s| !declined_now.contains(s))
                    .cloned()
                    .collect(),
            },
            ("", Some(a)) if a.cancel => Choice::Cancel,
            ("", Some(a)) => Choice::Consent {
                granted: asked
                    .iter()
                    .filter(|s| !declined_now.contains(s) && !a.decline.contains(s))
                    .cloned()
                    .collect(),
            },
            _ => {
                return consent_page(st, login, path, &req, who, &asked, &kept_declined);
            }
        }
    };
    let state = req.get("state").to_owned();
    match choice {
        Choice::Cancel => redirect(denied_url(login, &redirect_uri, &state)),
        Choice::Consent { granted } => {
            let mut declined: Vec<String> = asked
                .iter()
                .filter(|s| !granted.contains(s))
                .cloned()
                .collect();
            declined.extend(kept_declined);
            let now = st.now();
            let code = {
                let mut m = st.write();
                m.issued += 1;
                let body = hash::encode(
                    h(&[st.config.seed, hs("auth-code"), m.issued]),
                    hash::ALNUM,
                    120,
                );
                let code = match login {
                    LoginKind::Facebook => format!("AQ{body}"),
                    LoginKind::Instagram => format!("AQB{body}"),
                };
                let memory = m.declined.entry(key).or_default();
                for s in &granted {
                    memory.remove(s);
                }
                memory.extend(declined.iter().cloned());
                m.codes.insert(
                    code.clone(),
                    AuthCode {
                        login,
                        who,
                        client_id: client_id.to_owned(),
                        redirect_uri: redirect_uri.clone(),
                        granted,
                        declined,
                        expires_at: now
                            + match login {
                                LoginKind::Facebook => FB_CODE_LIFETIME,
                                LoginKind::Instagram => IG_CODE_LIFETIME,
                            },
                        used: false,
                    },
                );
                code
            };
            let mut url = with_query(&redirect_uri, &[("code", &code), ("state", &state)]);
            // Meta appends a fragment to the redirect: `#_=_` (Facebook), `#_` (Instagram).
            url.push_str(match login {
                LoginKind::Facebook => "#_=_",
                LoginKind::Instagram => "#_",
            });
            redirect(url)
        }
    }
}

fn denied_url(login: LoginKind, redirect_uri: &str, state: &str) -> String {
    match login {
        LoginKind::Facebook => with_query(
            redirect_uri,
            &[
                ("error_reason", "user_denied"),
                ("error", "access_denied"),
                ("error_description", "Permissions error."),
                ("state", state),
            ],
        ),
        LoginKind::Instagram => with_query(
            redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_reason", "user_denied"),
                ("error_description", "The user denied your request"),
                ("state", state),
            ],
        ),
    }
}

fn consent_page(
    st: &SimState,
    login: LoginKind,
    path: &str,
    req: &DialogRequest,
    who: usize,
    asked: &[String],
    kept_declined: &[String],
) -> Page {
    let product = match login {
        LoginKind::Facebook => "Facebook Login for Business",
        LoginKind::Instagram => "Business Login for Instagram",
    };
    let mut hidden = String::new();
    for k in [
        "client_id",
        "redirect_uri",
        "state",
        "scope",
        "response_type",
        "auth_type",
    ] {
        if let Some(v) = req.params.get(k) {
            hidden.push_str(&format!(
                "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
                escape(v)
            ));
        }
    }
    let users: Vec<(String, String)> = match login {
        LoginKind::Facebook => st
            .logins
            .facebook
            .iter()
            .map(|u| (u.id.clone(), u.name.clone()))
            .collect(),
        LoginKind::Instagram => st
            .logins
            .instagram
            .iter()
            .map(|a| {
                let acct = &st.world.accounts[*a];
                (acct.app_scoped_id.clone(), format!("@{}", acct.username))
            })
            .collect(),
    };
    let current = user_key(st, login, who);
    let options: String = users
        .iter()
        .map(|(id, name)| {
            format!(
                "<option value=\"{}\"{}>{}</option>",
                escape(id),
                if *id == current { " selected" } else { "" },
                escape(name)
            )
        })
        .collect();
    let boxes: String = asked
        .iter()
        .map(|s| {
            let fixed = s == "public_profile";
            format!(
                "<li><label><input type=\"checkbox\" name=\"grant\" value=\"{v}\" checked{d}> {v}</label></li>",
                v = escape(s),
                d = if fixed { " disabled" } else { "" }
            )
        })
        .collect();
    let previously = if kept_declined.is_empty() {
        String::new()
    } else {
        format!(
            "<p>Declined before and not asked again: {}</p>",
            escape(&kept_declined.join(", "))
        )
    };
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{product}</title></head><body>\
         <h1>{product}</h1>\
         <p>Logged in as <strong>{who}</strong>. The app {app} asks for:</p>\
         <form method=\"post\" action=\"{action}\">{hidden}\
         <p><label>Log in as <select name=\"sim_user\">{options}</select></label></p>\
         <ul>{boxes}</ul>{previously}\
         <button type=\"submit\" name=\"action\" value=\"continue\">Continue</button> \
         <button type=\"submit\" name=\"action\" value=\"cancel\">Cancel</button>\
         </form></body></html>",
        who = escape(&user_label(st, login, who)),
        app = escape(&st.app_id),
        action = escape(path),
    );
    Page {
        status: 200,
        location: None,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_builds_redirects() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(
            with_query("http://x/cb?a=1", &[("code", "c d"), ("state", "s&t")]),
            "http://x/cb?a=1&code=c%20d&state=s%26t"
        );
        assert!(absolute_http("https://example.com/cb"));
        assert!(!absolute_http("example.com/cb"));
        assert!(!absolute_http("https://example.com/cb#frag"));
        assert!(!absolute_http("https://exämple.com/cb"));
        assert!(!absolute_http("https://example.com/c b"));
        assert_eq!(
            split_scopes("a,b c,,a"),
            vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]
        );
    }
}
