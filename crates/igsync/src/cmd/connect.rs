//! `igsync accounts connect`: Meta's login flow from the command line. Prints the dialog
//! URL (and opens a browser when a display exists), listens on
//! `http://127.0.0.1:PORT/callback` for Meta's redirect, exchanges the code and registers
//! the accounts found (`--all`, or the ones chosen on the terminal), one line each.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::Utc;
use store::{DynStore, LoginKind};
use sync::connect::{Callback, Candidate, Logins, Pending, STATE_LIFETIME_MINUTES};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::cli::{AccountsConnectArgs, LoginArg};
use crate::config::Config;
use crate::db;

/// The owner of a login started here.
const OWNER: &str = "command line";

/// Longest request head read from the browser.
const MAX_HEAD: usize = 16 * 1024;

pub(crate) async fn run(
    args: AccountsConnectArgs,
    config: &Config,
    store: &DynStore,
) -> anyhow::Result<ExitCode> {
    let login = match args.login {
        LoginArg::Facebook => LoginKind::Facebook,
        LoginArg::Instagram => LoginKind::Instagram,
    };
    if !args.all && !std::io::stdin().is_terminal() {
        bail!(
            "there is no terminal to choose the accounts on: pass --all to add every account \
             the login reaches"
        );
    }
    let graph = super::graph::clients(config)?;
    let Some(client) = graph.get(&sync::accounts::graph_login(login)) else {
        bail!("no Graph API client for {} login", login.as_str());
    };
    if client.config().app_id().is_empty() || !client.config().has_app_secret() {
        bail!(
            "connecting accounts needs your Meta app's id and secret: set graph.app_id and \
             graph.app_secret (IGSYNC_GRAPH_APP_ID, IGSYNC_GRAPH_APP_SECRET)"
        );
    }
    let cipher = db::cipher(config, store).await?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.redirect_port))
        .await
        .with_context(|| {
            format!(
                "cannot listen on 127.0.0.1:{} for Meta's redirect (choose another port with \
                 --redirect-port)",
                args.redirect_port
            )
        })?;
    let port = listener.local_addr()?.port();
    let redirect_uri = format!("http://127.0.0.1:{port}/callback");
    let logins = Logins::default();
    let (_, url) = logins
        .begin(
            client,
            Pending {
                login,
                redirect_uri: redirect_uri.clone(),
                owner: OWNER.to_owned(),
                reconnect: None,
                started_at: Utc::now(),
            },
            args.rerequest,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("Log in with Meta in a browser (redirect URI {redirect_uri}):");
    println!("{url}");
    let _ = std::io::stdout().flush();
    open_browser(&url);

    let wait = Duration::from_secs(60 * STATE_LIFETIME_MINUTES as u64);
    let callback = tokio::time::timeout(wait, receive(&listener))
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "no login came back within {STATE_LIFETIME_MINUTES} minutes: run the command again"
            )
        })??;
    let pending = logins
        .take(callback.state.as_deref(), OWNER, Utc::now())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(denied) = callback.denied() {
        bail!("{denied}");
    }
    let authorized = sync::connect::authorize(
        &graph,
        &pending,
        callback.code.as_deref().unwrap_or_default(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    if !authorized.declined.is_empty() {
        eprintln!(
            "declined on Meta's page: {}",
            authorized.declined.join(", ")
        );
    }
    if !authorized.complete() {
        bail!(
            "igsync needs the permissions {}: run the command again with --rerequest and grant \
             them",
            authorized.missing.join(", ")
        );
    }
    if authorized.accounts.is_empty() {
        bail!(
            "this login reaches no Instagram professional account (with Facebook Login, connect \
             the Instagram account to one of your Facebook Pages first)"
        );
    }
    let chosen: Vec<&Candidate> = if args.all {
        authorized.accounts.iter().collect()
    } else {
        choose(&authorized.accounts)?
    };
    let mut failed = 0;
    for c in chosen {
        match sync::connect::add(
            &**store,
            &graph,
            &cipher,
            None,
            sync::connect::AddAs {
                login,
                subscribe_webhooks: config.server.webhooks.is_some(),
            },
            c,
            Utc::now(),
        )
        .await
        {
            Ok((r, _)) => {
                let a = &r.account;
                let expiry = match a.token_expires_at {
                    None => "token does not expire".to_owned(),
                    Some(at) => format!("token expires {}", at.format("%Y-%m-%d")),
                };
                println!(
                    "{} @{} (ig user id {}, igsync id {}, {} login; {expiry})",
                    if r.created { "added" } else { "reconnected" },
                    a.username,
                    a.ig_user_id,
                    a.id,
                    login.as_str()
                );
            }
            Err(e) => {
                failed += 1;
                println!(
                    "failed @{} ({}): {e}",
                    c.username.as_deref().unwrap_or("?"),
                    c.ig_user_id
                );
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Opens the URL in a browser when a graphical session exists; never required.
fn open_browser(url: &str) {
    let display = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()));
    if !display {
        return;
    }
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let _ = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

/// Serves the listener until a request for `/callback` arrives; answers it with a short
/// page and returns what it carried.
async fn receive(listener: &tokio::net::TcpListener) -> anyhow::Result<Callback> {
    loop {
        let (mut stream, _) = listener.accept().await?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 2048];
        let read = tokio::time::timeout(Duration::from_secs(10), async {
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < MAX_HEAD {
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            Ok::<_, std::io::Error>(())
        })
        .await;
        if !matches!(read, Ok(Ok(()))) {
            continue;
        }
        let head = String::from_utf8_lossy(&buf);
        let target = head
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("GET "))
            .and_then(|l| l.split(' ').next())
            .unwrap_or("");
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        if path != "/callback" {
            let _ = stream
                .write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await;
            continue;
        }
        let pairs = parse_query(query);
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        let callback = Callback {
            code: get("code"),
            state: get("state"),
            error: get("error"),
            error_reason: get("error_reason"),
            error_description: get("error_description"),
        };
        let text = if callback.error.is_some() {
            "The login was cancelled. You can close this tab."
        } else {
            "Login received. You can close this tab and return to the terminal."
        };
        let body = format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>igsync</title></head>\
             <body><p>{text}</p></body></html>"
        );
        let _ = stream
            .write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
                     Content-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n\
                     Referrer-Policy: no-referrer\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            )
            .await;
        let _ = stream.shutdown().await;
        return Ok(callback);
    }
}

/// `a=1&b=x%20y` → pairs, percent-decoded (`+` is a space); undecodable pairs are dropped.
fn parse_query(query: &str) -> Vec<(String, String)> {
    let decode = |s: &str| -> Option<String> {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                    out.push(u8::from_str_radix(hex, 16).ok()?);
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).ok()
    };
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Some((decode(k)?, decode(v)?))
        })
        .collect()
}

/// Asks on the terminal which accounts to add.
fn choose(accounts: &[Candidate]) -> anyhow::Result<Vec<&Candidate>> {
    println!("Accounts this login reaches:");
    for (i, c) in accounts.iter().enumerate() {
        let page = c
            .page_name
            .as_deref()
            .map(|p| format!(" (Page {p})"))
            .unwrap_or_default();
        println!(
            "  {}. @{} {}{page}",
            i + 1,
            c.username.as_deref().unwrap_or("?"),
            c.ig_user_id
        );
    }
    print!("Add which? Numbers separated by commas, or \"all\": ");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let line = line.trim();
    if line.eq_ignore_ascii_case("all") {
        return Ok(accounts.iter().collect());
    }
    let mut out = Vec::new();
    for part in line.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let n: usize = part
            .parse()
            .ok()
            .filter(|n| (1..=accounts.len()).contains(n))
            .with_context(|| format!("{part:?} is not a number from 1 to {}", accounts.len()))?;
        if !out
            .iter()
            .any(|c: &&Candidate| c.ig_user_id == accounts[n - 1].ig_user_id)
        {
            out.push(&accounts[n - 1]);
        }
    }
    if out.is_empty() {
        bail!("no account was chosen: nothing was added");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_callback_query_is_decoded() {
        let pairs = parse_query("code=AQ%2Bx&state=ab&error_description=The+user+denied&bad=%zz");
        assert_eq!(
            pairs,
            vec![
                ("code".to_owned(), "AQ+x".to_owned()),
                ("state".to_owned(), "ab".to_owned()),
                ("error_description".to_owned(), "The user denied".to_owned()),
            ]
        );
    }
}
