//! What goes on the wire: Meta's escaped-unicode JSON, the `X-Hub-Signature-256` HMAC and a
//! small HTTP/1.1 client for `http://` callbacks (the simulator delivers to local
//! receivers; Meta itself delivers to HTTPS only).

use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Request, header};
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use sha2::Sha256;
use tokio::net::TcpStream;

/// The `User-Agent` Meta's webhook deliveries carry.
const USER_AGENT: &str = "facebookplatform/1.0 (+http://developers.facebook.com)";

/// Serializes JSON the way Meta signs it: non-ASCII characters as `\uXXXX` with lowercase
/// hex digits (surrogate pairs beyond the BMP) and `/` as `\/`.
pub(crate) fn meta_json(v: &serde_json::Value) -> String {
    let plain = v.to_string();
    let mut out = String::with_capacity(plain.len() + 16);
    for c in plain.chars() {
        match c {
            '/' => out.push_str("\\/"),
            c if c.is_ascii() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
        }
    }
    out
}

/// `sha256=<hex HMAC-SHA256(body, secret)>`.
pub(crate) fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A parsed `http://host:port/path?query` callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Callback {
    pub(crate) authority: String,
    pub(crate) path_and_query: String,
}

impl Callback {
    /// Parses a callback URL; the simulator delivers to `http://` only.
    pub(crate) fn parse(url: &str) -> Result<Callback, String> {
        let Some(rest) = url.strip_prefix("http://") else {
            return Err(format!(
                "callback_url must start with http:// (the simulator delivers to local receivers), got {url:?}"
            ));
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() || authority.contains(['@', ' ', '#']) || path.contains('#') {
            return Err(format!("callback_url is not a usable http URL: {url:?}"));
        }
        let path_and_query = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_owned()
        };
        Ok(Callback {
            authority: authority.to_owned(),
            path_and_query,
        })
    }

    /// The callback with extra query parameters.
    pub(crate) fn with_query(&self, query: &str) -> String {
        let sep = if self.path_and_query.contains('?') {
            '&'
        } else {
            '?'
        };
        format!("{}{sep}{query}", self.path_and_query)
    }
}

/// A response: status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: String,
}

/// Sends one request over a fresh connection.
pub(crate) async fn send(
    cb: &Callback,
    method: &str,
    path_and_query: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
    timeout: Duration,
) -> Result<Answer, String> {
    let work = async {
        let stream = TcpStream::connect(cb.authority.as_str())
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", cb.authority))?;
        let _ = stream.set_nodelay(true);
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP handshake failed: {e}"))?;
        let driver = tokio::spawn(conn);
        let mut req = Request::builder()
            .method(method)
            .uri(path_and_query)
            .header(header::HOST, cb.authority.as_str())
            .header(header::USER_AGENT, USER_AGENT);
        for (name, value) in headers {
            req = req.header(*name, value.as_str());
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("cannot build the request: {e}"))?;
        let res = sender
            .send_request(req)
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let status = res.status().as_u16();
        let bytes = res
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("cannot read the response: {e}"))?
            .to_bytes();
        driver.abort();
        Ok(Answer {
            status,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_meta() {
        let v = serde_json::json!({ "text": "äöå 😍 a/b \"q\"" });
        assert_eq!(
            meta_json(&v),
            r#"{"text":"\u00e4\u00f6\u00e5 \ud83d\ude0d a\/b \"q\""}"#
        );
        let back: serde_json::Value = serde_json::from_str(&meta_json(&v)).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn signs_with_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn parses_callbacks() {
        let c = Callback::parse("http://127.0.0.1:8080/hooks/meta?x=1").unwrap();
        assert_eq!(c.authority, "127.0.0.1:8080");
        assert_eq!(c.path_and_query, "/hooks/meta?x=1");
        assert_eq!(c.with_query("a=b"), "/hooks/meta?x=1&a=b");
        let c = Callback::parse("http://localhost:9").unwrap();
        assert_eq!(c.path_and_query, "/");
        assert!(Callback::parse("https://example.com/x").is_err());
        assert!(Callback::parse("http:///x").is_err());
    }
}
