//! The simulator in a child process, so its CPU and memory are not counted as igsync's.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

// ----- the simulator in a child process -----

/// `igsync simulate` running as a child process; killed on drop.
pub(super) struct SimProcess {
    pub(super) child: tokio::process::Child,
    pub(super) url: String,
    pub(super) http: reqwest::Client,
}

impl SimProcess {
    pub(super) async fn start(
        accounts: usize,
        media: usize,
        latency_ms: u64,
        seed: u64,
    ) -> anyhow::Result<SimProcess> {
        SimProcess::start_with(accounts, media, latency_ms, seed, &[]).await
    }

    /// [`SimProcess::start`] with more `igsync simulate` flags (e.g. `--sizes long-tail`).
    pub(super) async fn start_with(
        accounts: usize,
        media: usize,
        latency_ms: u64,
        seed: u64,
        extra: &[String],
    ) -> anyhow::Result<SimProcess> {
        let exe = std::env::current_exe().context("cannot find the igsync executable")?;
        let port = free_port()?;
        let mut child = tokio::process::Command::new(exe)
            .args(["simulate", "--listen", &format!("127.0.0.1:{port}")])
            .args([
                "--accounts",
                &accounts.to_string(),
                "--media",
                &media.to_string(),
            ])
            .args([
                "--latency-ms",
                &latency_ms.to_string(),
                "--seed",
                &seed.to_string(),
            ])
            .args(extra)
            .env("IGSYNC_LOG_LEVEL", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start the simulator")?;
        let stdout = child.stdout.take().context("simulator stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let url = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.strip_prefix("Graph API simulator listening on ") {
                    return Ok::<_, anyhow::Error>(
                        rest.split_whitespace().next().unwrap_or("").to_string(),
                    );
                }
            }
            bail!("the simulator exited before listening")
        })
        .await
        .context("the simulator did not start within 60 s")??;
        // Keep draining its output so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(SimProcess {
            child,
            url,
            http: reqwest::Client::new(),
        })
    }

    /// The simulator process's CPU time (user + system) so far.
    pub(super) fn cpu_time(&self) -> Duration {
        self.child.id().map_or(Duration::ZERO, |pid| {
            super::probe::process_cpu_time(&pid.to_string())
        })
    }

    pub(super) async fn accounts(&self) -> anyhow::Result<Vec<Value>> {
        let v: Value = self
            .http
            .get(format!("{}/__sim/accounts", self.url))
            .send()
            .await?
            .json()
            .await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    pub(super) async fn stats(&self) -> anyhow::Result<Value> {
        Ok(self
            .http
            .get(format!("{}/__sim/stats", self.url))
            .send()
            .await?
            .json()
            .await?)
    }

    /// The simulator's clock.
    pub(super) async fn now(&self) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
        let v: Value = self
            .http
            .get(format!("{}/__sim/clock", self.url))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        v["now"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&chrono::Utc))
            .context("the simulator's clock answered without a time")
    }

    /// Moves the simulator's clock forward by whole seconds.
    pub(super) async fn advance(&self, secs: i64) -> anyhow::Result<()> {
        self.http
            .post(format!("{}/__sim/clock", self.url))
            .json(&serde_json::json!({ "advance_secs": secs }))
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    /// The stories every account published in `[from, to)`.
    pub(super) async fn stories(
        &self,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> anyhow::Result<Vec<Value>> {
        let v: Value = self
            .http
            .get(format!("{}/__sim/stories", self.url))
            .query(&[("from", from.to_rfc3339()), ("to", to.to_rfc3339())])
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    pub(super) async fn reset(&self) -> anyhow::Result<()> {
        self.http
            .post(format!("{}/__sim/reset", self.url))
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    pub(super) async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

pub(super) fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
