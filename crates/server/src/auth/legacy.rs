//! Verification of API keys stored before the digest format: argon2 hashes checked one at a
//! time in one reused block of memory, with a bounded queue of waiting requests.

use std::sync::Arc;

use argon2::password_hash::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;

use crate::error::{AppError, AppResult};

/// Largest argon2 memory a legacy hash may ask for (the default is 19 MiB).
const LEGACY_MAX_BLOCKS: usize = 64 * 1024;

/// Verifies legacy argon2 hashes one at a time, in one block of memory allocated at the
/// first use and reused after, so however many requests present a legacy key at once the
/// process holds one argon2 working set (19 MiB with the default parameters). At most
/// [`LEGACY_QUEUE`] requests wait for (or hold) a turn; more are answered 429 at once, so a
/// flood cannot park requests here either.
#[derive(Debug)]
pub(crate) struct LegacyVerifier {
    memory: Arc<tokio::sync::Mutex<Vec<Block>>>,
    places: Arc<tokio::sync::Semaphore>,
}

/// Requests that may wait for a legacy verification at once, the running one included.
pub const LEGACY_QUEUE: usize = 8;

impl Default for LegacyVerifier {
    fn default() -> Self {
        LegacyVerifier {
            memory: Arc::default(),
            places: Arc::new(tokio::sync::Semaphore::new(LEGACY_QUEUE)),
        }
    }
}

/// The right to run one legacy verification: held until the verification ends, even when
/// the request that waited for it is dropped meanwhile.
pub(crate) struct LegacyTurn {
    memory: tokio::sync::OwnedMutexGuard<Vec<Block>>,
    _place: tokio::sync::OwnedSemaphorePermit,
}

impl LegacyVerifier {
    /// Waits for the verifier to be free; None when [`LEGACY_QUEUE`] requests already wait.
    pub(crate) async fn turn(&self) -> Option<LegacyTurn> {
        let place = self.places.clone().try_acquire_owned().ok()?;
        let memory = self.memory.clone().lock_owned().await;
        Some(LegacyTurn {
            memory,
            _place: place,
        })
    }
}

impl LegacyTurn {
    /// Whether `secret` matches the argon2 `stored` hash (constant-time comparison); the
    /// turn is handed back, to be dropped once the outcome is counted.
    pub(crate) async fn verify(
        mut self,
        secret: &str,
        stored: &str,
    ) -> AppResult<(bool, LegacyTurn)> {
        let (secret, stored) = (secret.to_owned(), stored.to_owned());
        tokio::task::spawn_blocking(move || {
            let ok = verify_legacy(&mut self.memory, &secret, &stored);
            (ok, self)
        })
        .await
        .map_err(|e| AppError::internal(e.to_string()))
    }
}

pub(super) fn verify_legacy(memory: &mut Vec<Block>, secret: &str, stored: &str) -> bool {
    let checked = (|| {
        let parsed = PasswordHash::new(stored).ok()?;
        let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
        let version = match parsed.version {
            Some(v) => Version::try_from(v).ok()?,
            None => Version::default(),
        };
        let params = Params::try_from(&parsed).ok()?;
        let expected = parsed.hash?;
        let mut salt = [0u8; 64];
        let salt = parsed.salt?.decode_b64(&mut salt).ok()?;
        let blocks = params.block_count();
        if blocks > LEGACY_MAX_BLOCKS {
            return None;
        }
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        let mut out = vec![0u8; expected.len()];
        Argon2::new(algorithm, version, params)
            .hash_password_into_with_memory(
                secret.as_bytes(),
                salt,
                &mut out,
                &mut memory[..blocks],
            )
            .ok()?;
        Some(bool::from(out.as_slice().ct_eq(expected.as_bytes())))
    })();
    checked.unwrap_or_else(|| {
        tracing::error!("an API key's stored argon2 hash cannot be used");
        false
    })
}
