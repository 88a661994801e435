//! Encryption of account access tokens at rest.
//!
//! Tokens are sealed with AES-256-GCM under a 32-byte key that lives in the environment
//! (`IGSYNC_SECRET_KEY`) or the config file, never in the database. The stored form is
//! `version (1 byte) || nonce (12 bytes) || ciphertext+tag`. Plain tokens travel only inside
//! [`SecretString`], whose `Debug` and `Display` never show the value.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};

const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 12;

/// Why a key could not be parsed or a token could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    #[error(
        "the secret key must be 64 hexadecimal characters (32 bytes); got {got} characters{hint}"
    )]
    BadKeyLength { got: usize, hint: &'static str },
    #[error("the secret key must be hexadecimal (0-9, a-f)")]
    BadKeyHex,
    #[error(
        "cannot decrypt a stored token: the secret key is not the one it was encrypted with, \
         or the stored bytes are corrupt"
    )]
    WrongKeyOrCorrupt,
    #[error("stored token has an unknown format (version byte {0})")]
    UnknownFormat(u8),
    #[error("the operating system's random number generator failed")]
    Random,
}

/// A string that must never be printed: access tokens, API keys, secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        SecretString(value.into())
    }

    /// The secret itself. Call this only where the value leaves the process on purpose
    /// (an HTTP request to Meta, the encryption routine).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString([redacted])")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A token as stored: sealed bytes, meaningless without the key.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptedToken(pub Vec<u8>);

impl fmt::Debug for EncryptedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncryptedToken({} bytes)", self.0.len())
    }
}

/// The 32-byte key tokens are sealed with.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    /// Parses 64 hexadecimal characters (surrounding whitespace is ignored).
    pub fn from_hex(text: &str) -> Result<SecretKey, CryptoError> {
        let text = text.trim();
        if text.len() != 64 {
            let hint = if text.len() == 32 {
                " (that looks like 16 bytes; generate 32 with `openssl rand -hex 32`)"
            } else {
                " (generate one with `openssl rand -hex 32`)"
            };
            return Err(CryptoError::BadKeyLength {
                got: text.len(),
                hint,
            });
        }
        let mut key = [0u8; 32];
        hex::decode_to_slice(text, &mut key).map_err(|_| CryptoError::BadKeyHex)?;
        Ok(SecretKey(key))
    }

    /// A fresh random key.
    pub fn generate() -> Result<SecretKey, CryptoError> {
        let mut key = [0u8; 32];
        getrandom::getrandom(&mut key).map_err(|_| CryptoError::Random)?;
        Ok(SecretKey(key))
    }

    /// The key as 64 hexadecimal characters, for printing once to a user who asked for it.
    pub fn to_hex(&self) -> SecretString {
        SecretString(hex::encode(self.0))
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

/// Seals and opens tokens with one key.
#[derive(Clone)]
pub struct Cipher {
    aead: Aes256Gcm,
}

impl fmt::Debug for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cipher([redacted])")
    }
}

impl Cipher {
    pub fn new(key: &SecretKey) -> Cipher {
        Cipher {
            aead: Aes256Gcm::new((&key.0).into()),
        }
    }

    pub fn encrypt(&self, plain: &SecretString) -> Result<EncryptedToken, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::getrandom(&mut nonce).map_err(|_| CryptoError::Random)?;
        let sealed = self
            .aead
            .encrypt(Nonce::from_slice(&nonce), plain.expose().as_bytes())
            .map_err(|_| CryptoError::WrongKeyOrCorrupt)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(FORMAT_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(EncryptedToken(out))
    }

    pub fn decrypt(&self, token: &EncryptedToken) -> Result<SecretString, CryptoError> {
        let bytes = &token.0;
        match bytes.first() {
            Some(&FORMAT_V1) => {}
            Some(&other) => return Err(CryptoError::UnknownFormat(other)),
            None => return Err(CryptoError::WrongKeyOrCorrupt),
        }
        if bytes.len() < 1 + NONCE_LEN + 16 {
            return Err(CryptoError::WrongKeyOrCorrupt);
        }
        let nonce = Nonce::from_slice(&bytes[1..1 + NONCE_LEN]);
        let plain = self
            .aead
            .decrypt(nonce, &bytes[1 + NONCE_LEN..])
            .map_err(|_| CryptoError::WrongKeyOrCorrupt)?;
        String::from_utf8(plain)
            .map(SecretString)
            .map_err(|_| CryptoError::WrongKeyOrCorrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_the_sealed_bytes_hide_them() {
        let cipher = Cipher::new(&SecretKey::generate().unwrap());
        let plain = SecretString::new("IGQVJ-super-secret-token");
        let sealed = cipher.encrypt(&plain).unwrap();
        assert!(!sealed.0.windows(10).any(|w| w == b"super-secr"));
        assert_eq!(cipher.decrypt(&sealed).unwrap(), plain);
        // Two seals of one token differ (fresh nonce).
        assert_ne!(cipher.encrypt(&plain).unwrap(), sealed);
    }

    #[test]
    fn a_different_key_cannot_open_a_token() {
        let a = Cipher::new(&SecretKey::generate().unwrap());
        let b = Cipher::new(&SecretKey::generate().unwrap());
        let sealed = a.encrypt(&SecretString::new("t")).unwrap();
        assert_eq!(b.decrypt(&sealed), Err(CryptoError::WrongKeyOrCorrupt));
        assert_eq!(
            a.decrypt(&EncryptedToken(vec![])),
            Err(CryptoError::WrongKeyOrCorrupt)
        );
        assert_eq!(
            a.decrypt(&EncryptedToken(vec![9, 1, 2])),
            Err(CryptoError::UnknownFormat(9))
        );
    }

    #[test]
    fn keys_parse_from_hex_with_clear_errors() {
        let hex64 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        assert!(SecretKey::from_hex(hex64).is_ok());
        assert!(matches!(
            SecretKey::from_hex("abcd"),
            Err(CryptoError::BadKeyLength { got: 4, .. })
        ));
        let bad = hex64.replace('0', "g");
        assert_eq!(
            SecretKey::from_hex(&bad).unwrap_err(),
            CryptoError::BadKeyHex
        );
    }

    #[test]
    fn secrets_never_print() {
        let s = SecretString::new("EAAB-token");
        assert!(!format!("{s:?} {s}").contains("EAAB"));
        let k = SecretKey::generate().unwrap();
        assert!(format!("{k:?}").contains("redacted"));
    }
}
