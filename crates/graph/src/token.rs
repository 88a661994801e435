//! Secrets that must never leak: the redacting [`AccessToken`] and app secret newtypes, the
//! `appsecret_proof` signature, and the account handle every read takes.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// An access token. `Debug` and `Display` print `AccessToken(***)`; the only way to read the
/// value is [`expose`](Self::expose), which the client calls when it builds a request.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AccessToken(String);

impl AccessToken {
    /// Wraps a token (surrounding whitespace is removed).
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into().trim().to_owned())
    }

    /// The raw token, for sending it to Meta or encrypting it at rest.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the token is empty (always rejected by the client before any request).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(***)")
    }
}

impl fmt::Display for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for AccessToken {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}

impl From<&str> for AccessToken {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

/// The Meta app secret; redacted like [`AccessToken`].
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct AppSecret(String);

impl AppSecret {
    pub(crate) fn new(secret: String) -> Self {
        Self(secret.trim().to_owned())
    }
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AppSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AppSecret(***)")
    }
}

/// `appsecret_proof`: lower-case hex HMAC-SHA256 of the access token keyed by the app secret.
pub fn appsecret_proof(app_secret: &str, token: &AccessToken) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(app_secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(token.expose().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// One Instagram professional account as the client addresses it: its IG user id and the
/// token that reads it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AccountRef {
    /// The Instagram professional account id (`ig_user_id`).
    pub ig_user_id: String,
    /// The token used for this account's calls.
    pub token: AccessToken,
}

impl AccountRef {
    /// An account handle.
    pub fn new(ig_user_id: impl Into<String>, token: AccessToken) -> Self {
        Self {
            ig_user_id: ig_user_id.into(),
            token,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_redacted_everywhere() {
        let t = AccessToken::new("EAAB-secret-token");
        let account = AccountRef::new("17841", t.clone());
        for text in [format!("{t}"), format!("{t:?}"), format!("{account:?}")] {
            assert!(!text.contains("secret"), "{text}");
        }
        assert_eq!(t.expose(), "EAAB-secret-token");
    }

    #[test]
    fn proof_matches_rfc4231_style_vector() {
        // HMAC-SHA256(key = "key", message = "The quick brown fox jumps over the lazy dog").
        let proof = appsecret_proof(
            "key",
            &AccessToken::new("The quick brown fox jumps over the lazy dog"),
        );
        assert_eq!(
            proof,
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }
}
