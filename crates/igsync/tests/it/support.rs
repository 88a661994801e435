//! Shared plumbing of the end-to-end tests: fast or slow mode, recorded figures, the Graph
//! API simulator, and the `igsync` binary run as real processes with a clean environment.
//! Private temporary directories and fresh databases on both dialects are `testsupport`'s.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use simulator::{SimConfig, SimServer};
use store::{JobQuery, JobState, Store, SyncStatus};

/// `IGSYNC_SLOW_TESTS=1` (CI) switches on the long variants of the reliability tests.
pub(crate) fn slow() -> bool {
    std::env::var("IGSYNC_SLOW_TESTS")
        .map(|v| !matches!(v.trim(), "" | "0" | "false" | "no"))
        .unwrap_or(false)
}

/// `fast` normally, `slow` with `IGSYNC_SLOW_TESTS=1`.
pub(crate) fn pick<T>(fast: T, slow_value: T) -> T {
    if slow() { slow_value } else { fast }
}

/// Records the figures of one test run (runs, faults, rows checked…) as JSON in
/// `target/tmp/reliability/NAME.json` and on standard error, for `docs/reliability.md`.
pub(crate) fn record_figures(name: &str, figures: serde_json::Value) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("reliability");
    let _ = std::fs::create_dir_all(&dir);
    let doc = serde_json::json!({
        "test": name,
        "mode": if slow() { "slow" } else { "fast" },
        "at": Utc::now().to_rfc3339(),
        "figures": figures,
    });
    let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    let _ = std::fs::write(dir.join(format!("{name}.json")), &text);
    eprintln!("figures of {name}: {text}");
}

pub(crate) use testsupport::{Dialect, TempDir, TestDb, open_store};

/// A simulator configuration for tests: timeouts held briefly, clock at the current time.
pub(crate) fn sim_config(seed: u64, accounts: usize, media: usize) -> SimConfig {
    let mut c = SimConfig::new(seed, accounts, media);
    c.timeout_hold = Duration::from_millis(2500);
    c
}

pub(crate) async fn start_sim(config: SimConfig) -> SimServer {
    SimServer::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("the simulator starts")
}

/// A cron expression that does not fire while a test runs (midnight on 1 January).
pub(crate) const NEVER: &str = "0 0 0 1 1 *";

/// Everything a test drives the binary with: a private working directory (logs, config),
/// a fresh database, a token key and the settings every `igsync` process gets.
pub(crate) struct Harness {
    pub(crate) dir: TempDir,
    pub(crate) db: TestDb,
    pub(crate) secret_hex: String,
    pub(crate) env: BTreeMap<String, String>,
    logs: AtomicU32,
}

impl Harness {
    pub(crate) async fn new(dialect: Dialect, label: &str) -> Harness {
        let db = TestDb::new(dialect, label).await;
        Harness::with_db(db, label)
    }

    pub(crate) fn with_db(db: TestDb, label: &str) -> Harness {
        let dir = TempDir::new(label);
        let secret_hex = store::SecretKey::generate()
            .unwrap()
            .to_hex()
            .expose()
            .to_string();
        let mut env = BTreeMap::new();
        for (k, v) in [
            ("IGSYNC_DATABASE_URL", db.url.as_str()),
            ("IGSYNC_SECRET_KEY", secret_hex.as_str()),
            ("IGSYNC_SYNC_SYNCS_PER_MINUTE", "0"),
            ("IGSYNC_SYNC_BACKOFF_SECS", "1"),
            ("IGSYNC_SYNC_LEASE_SECS", "5"),
            ("IGSYNC_SYNC_CONCURRENCY", "2"),
            ("IGSYNC_GRAPH_TIMEOUT_SECS", "2"),
            ("IGSYNC_SYNC_FULL_CRON", NEVER),
            ("IGSYNC_SYNC_LIGHT_CRON", NEVER),
            ("IGSYNC_SYNC_TOKEN_REFRESH_CRON", NEVER),
            ("IGSYNC_SYNC_RETENTION_CRON", NEVER),
            ("IGSYNC_SYNC_REPORTS_CRON", NEVER),
            ("IGSYNC_SYNC_COMPETITORS_CRON", NEVER),
            ("NO_COLOR", "1"),
        ] {
            env.insert(k.to_string(), v.to_string());
        }
        Harness {
            dir,
            db,
            secret_hex,
            env,
            logs: AtomicU32::new(0),
        }
    }

    pub(crate) fn set(&mut self, key: &str, value: &str) {
        self.env.insert(key.to_string(), value.to_string());
    }

    pub(crate) fn graph(&mut self, sim: &SimServer) {
        self.set("IGSYNC_GRAPH_URL", &sim.url());
    }

    /// `igsync ARGS` with exactly the harness's environment, in its directory.
    pub(crate) fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_igsync"));
        cmd.args(args);
        self.environment(&mut cmd);
        cmd
    }

    /// `sh -c SCRIPT igsync ARGS` (the script ends with `exec "$0" "$@"`), with the
    /// harness's environment: for limits set with `ulimit` before igsync starts.
    pub(crate) fn command_in_shell(&self, script: &str, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new("sh");
        cmd.arg("-c")
            .arg(script)
            .arg(env!("CARGO_BIN_EXE_igsync"))
            .args(args);
        self.environment(&mut cmd);
        cmd
    }

    fn environment(&self, cmd: &mut tokio::process::Command) {
        cmd.env_clear()
            .envs(&self.env)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .current_dir(self.dir.path())
            .kill_on_drop(true);
    }

    /// Runs `igsync ARGS` to the end (with `stdin` as standard input).
    pub(crate) async fn run(&self, args: &[&str], stdin: Option<&str>) -> Run {
        run_command(self.command(args), args, stdin).await
    }

    /// Like [`Harness::run`], and fails the test unless it succeeded.
    pub(crate) async fn ok(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let run = self.run(args, stdin).await;
        assert!(run.status.success(), "igsync {args:?} failed: {run}");
        run
    }

    /// Adds an account with `igsync accounts add --token-stdin --no-verify` (Meta is not
    /// asked whose token it is), and fails the test unless it succeeded.
    pub(crate) async fn add_unverified(&self, ig_user_id: &str, token: &str) -> Run {
        self.add_unverified_to(None, ig_user_id, token).await
    }

    /// [`Harness::add_unverified`] into the database at `url` (`None`: the harness's own).
    pub(crate) async fn add_unverified_to(
        &self,
        url: Option<&str>,
        ig_user_id: &str,
        token: &str,
    ) -> Run {
        let args = [
            "accounts",
            "add",
            "--ig-user-id",
            ig_user_id,
            "--token-stdin",
            "--no-verify",
        ];
        let mut cmd = self.command(&args);
        if let Some(url) = url {
            cmd.env("IGSYNC_DATABASE_URL", url);
        }
        let run = run_command(cmd, &args, Some(token)).await;
        assert!(run.status.success(), "igsync {args:?} failed: {run}");
        run
    }

    /// Starts `igsync ARGS` in the background, its output going to log files.
    pub(crate) fn spawn(&self, args: &[&str]) -> Proc {
        self.spawn_command(self.command(args), args)
    }

    /// Starts a prepared command (see [`Harness::command_in_shell`]) in the background.
    pub(crate) fn spawn_command(&self, cmd: tokio::process::Command, args: &[&str]) -> Proc {
        let n = self.logs.fetch_add(1, Ordering::Relaxed);
        let name = args.first().copied().unwrap_or("igsync");
        Proc::spawn(cmd, self.dir.path(), &format!("{n:03}-{name}"))
    }

    /// Registers every simulator account with `igsync accounts add --token-stdin`.
    pub(crate) async fn register(&self, sim: &SimServer) {
        for a in sim.accounts() {
            self.register_one(&a).await;
        }
    }

    pub(crate) async fn register_one(&self, a: &simulator::SimAccount) {
        let login = match a.login {
            simulator::LoginKind::Facebook => "facebook",
            simulator::LoginKind::Instagram => "instagram",
        };
        self.ok(
            &[
                "accounts",
                "add",
                "--ig-user-id",
                &a.ig_user_id,
                "--token-stdin",
                "--login",
                login,
            ],
            Some(&a.access_token),
        )
        .await;
    }

    /// Every log the harness's processes wrote so far, concatenated.
    pub(crate) fn all_logs(&self) -> String {
        let mut out = String::new();
        let mut entries: Vec<_> = std::fs::read_dir(self.dir.path())
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        entries.sort();
        for path in entries {
            if path.extension().is_some_and(|e| e == "log") {
                out.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
            }
        }
        out
    }
}

/// The end of a process run to completion.
pub(crate) struct Run {
    pub(crate) args: Vec<String>,
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "igsync {:?} exited with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args, self.status, self.stdout, self.stderr
        )
    }
}

pub(crate) async fn run_command(
    mut cmd: tokio::process::Command,
    args: &[&str],
    stdin: Option<&str>,
) -> Run {
    use tokio::io::AsyncWriteExt;
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the igsync binary starts");
    if let Some(text) = stdin
        && let Some(mut pipe) = child.stdin.take()
    {
        pipe.write_all(text.as_bytes()).await.unwrap();
        drop(pipe);
    }
    let stdout = read_all(child.stdout.take());
    let stderr = read_all(child.stderr.take());
    let status = match tokio::time::timeout(Duration::from_secs(600), child.wait()).await {
        Ok(status) => status.unwrap(),
        Err(_) => {
            // What the process was waiting on, then what it had said before it was killed.
            let waits = child.id().map(threads_waiting_on).unwrap_or_default();
            let _ = child.kill().await;
            panic!(
                "igsync {args:?} did not finish within 10 minutes; its threads wait in \
                 {waits}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                stdout.await.unwrap(),
                stderr.await.unwrap()
            );
        }
    };
    Run {
        args: args.iter().map(|s| s.to_string()).collect(),
        status,
        stdout: stdout.await.unwrap(),
        stderr: stderr.await.unwrap(),
    }
}

/// Everything a child's pipe says until it closes, read beside the child.
fn read_all<R>(pipe: Option<R>) -> tokio::task::JoinHandle<String>
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    use tokio::io::AsyncReadExt;
    tokio::spawn(async move {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes).await;
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// The kernel function each thread of process `pid` sleeps in (`/proc/PID/task/*/wchan`,
/// with the thread's name), for a process that hangs.
fn threads_waiting_on(pid: u32) -> String {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return "(unknown)".into();
    };
    let read = |path: PathBuf| std::fs::read_to_string(path).unwrap_or_default();
    let mut waits: Vec<String> = tasks
        .filter_map(|t| t.ok())
        .map(|t| {
            let name = read(t.path().join("comm"));
            format!("{}: {}", name.trim(), read(t.path().join("wchan")).trim())
        })
        .collect();
    waits.sort();
    waits.join(", ")
}

/// A background `igsync` process whose standard output and error go to `NAME.log` files;
/// killed when dropped.
pub(crate) struct Proc {
    child: tokio::process::Child,
    pub(crate) pid: u32,
    pub(crate) stdout_path: PathBuf,
    pub(crate) stderr_path: PathBuf,
}

impl Proc {
    pub(crate) fn spawn(mut cmd: tokio::process::Command, dir: &Path, name: &str) -> Proc {
        let stdout_path = dir.join(format!("{name}.stdout.log"));
        let stderr_path = dir.join(format!("{name}.stderr.log"));
        let out = std::fs::File::create(&stdout_path).unwrap();
        let err = std::fs::File::create(&stderr_path).unwrap();
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd.spawn().expect("the igsync binary starts");
        let pid = child.id().expect("a running child has a pid");
        Proc {
            child,
            pid,
            stdout_path,
            stderr_path,
        }
    }

    pub(crate) fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout_path).unwrap_or_default()
    }

    pub(crate) fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Sends a signal (`KILL`, `TERM`, `STOP`, `CONT`) with the system's `kill`.
    pub(crate) fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args(["-s", name, &self.pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -s {name} {} failed", self.pid);
    }

    /// SIGKILL, and reaps the process.
    pub(crate) async fn kill9(&mut self) -> ExitStatus {
        self.signal("KILL");
        self.child.wait().await.unwrap()
    }

    /// SIGTERM, and waits (up to a minute) for the process to exit.
    pub(crate) async fn terminate(&mut self) -> ExitStatus {
        self.signal("TERM");
        match tokio::time::timeout(Duration::from_secs(60), self.child.wait()).await {
            Ok(status) => status.unwrap(),
            Err(_) => panic!(
                "process {} did not stop within 60 s of SIGTERM:\n{}",
                self.pid,
                self.stderr()
            ),
        }
    }

    /// Waits (up to `limit`) for the process to exit by itself.
    pub(crate) async fn wait(&mut self, limit: Duration) -> ExitStatus {
        match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(status) => status.unwrap(),
            Err(_) => panic!(
                "process {} did not exit within {limit:?}:\n{}{}",
                self.pid,
                self.stdout(),
                self.stderr()
            ),
        }
    }

    /// Whether the process is still running.
    pub(crate) fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits until standard output or error contains `needle`; returns what it read.
    pub(crate) async fn wait_for_output(&mut self, needle: &str, limit: Duration) -> String {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let text = format!("{}{}", self.stdout(), self.stderr());
            if text.contains(needle) {
                return text;
            }
            if !self.alive() {
                panic!(
                    "process {} exited before printing {needle:?}:\n{text}",
                    self.pid
                );
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "process {} did not print {needle:?} within {limit:?}:\n{text}",
                    self.pid
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Polls `check` every 100 ms until it returns `Some`, failing after `limit`.
pub(crate) async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("{what}: not reached within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A story's final read still waiting for its hour (the story's expiry): not part of
/// any sync.
fn waits_for_its_story(j: &store::Job) -> bool {
    j.kind == "story_final_read" && j.state == JobState::Pending
}

/// A schedule's tick no worker has claimed yet: one that fires after the work under test
/// settled belongs to the next period, and a worker stopped right after never runs it.
fn unclaimed_tick(j: &store::Job) -> bool {
    j.state == JobState::Pending
        && j.attempt == 0
        && j.unique_key
            .as_deref()
            .is_some_and(|k| k.starts_with("schedule:"))
}

/// Jobs of the sync queue that are pending or running, except stories' final reads that
/// wait for their stories' expiry (hours ahead: not part of any sync).
pub(crate) async fn active_sync_jobs(store: &dyn Store) -> Vec<store::Job> {
    store
        .job_list(JobQuery {
            states: vec![JobState::Pending, JobState::Running],
            limit: 10_000,
            ..Default::default()
        })
        .await
        .map(|p| p.jobs)
        .unwrap_or_default()
        .into_iter()
        .filter(|j| !waits_for_its_story(j))
        .collect()
}

/// Whether every account's sync is over: no job pending or running, nobody `syncing`.
pub(crate) async fn fleet_settled(store: &dyn Store) -> bool {
    let Ok(accounts) = store.account_list().await else {
        return false;
    };
    active_sync_jobs(store).await.is_empty()
        && accounts.iter().all(|a| a.status != SyncStatus::Syncing)
}

/// Every job, oldest first, except stories' final reads still waiting for their hour and
/// schedules' ticks no worker has claimed.
pub(crate) async fn all_jobs(store: &dyn Store) -> Vec<store::Job> {
    let mut jobs: Vec<store::Job> = store
        .job_list(JobQuery {
            limit: 100_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .jobs
        .into_iter()
        .filter(|j| !waits_for_its_story(j) && !unclaimed_tick(j))
        .collect();
    jobs.sort_by_key(|j| j.id);
    jobs
}

/// Every job completed, and each completion is in the persisted metrics once (read by day,
/// from the day before `started` to the day after now).
pub(crate) async fn assert_completions_recorded(
    store: &dyn Store,
    jobs: &[store::Job],
    started: DateTime<Utc>,
) {
    let mut completed_by_kind: BTreeMap<String, u64> = BTreeMap::new();
    for j in jobs {
        assert_eq!(j.state, store::JobState::Completed, "{j:?}");
        *completed_by_kind.entry(j.kind.clone()).or_default() += 1;
    }
    let points = store
        .job_metrics(store::JobMetricsQuery {
            from: started - chrono::Duration::days(1),
            to: Utc::now() + chrono::Duration::days(1),
            resolution: store::Resolution::Day,
            queue: None,
        })
        .await
        .unwrap();
    let mut in_metrics: BTreeMap<String, u64> = BTreeMap::new();
    for p in points {
        *in_metrics.entry(p.kind).or_default() += p.completed;
    }
    assert_eq!(
        in_metrics, completed_by_kind,
        "one recorded completion per completed job"
    );
}

/// Text that must never show up in the given output, with where it did.
pub(crate) fn assert_absent(haystack: &str, secrets: &[(&str, String)], where_: &str) {
    for (what, secret) in secrets {
        if secret.len() >= 8 {
            assert!(
                !haystack.contains(secret.as_str()),
                "{what} leaked into {where_}"
            );
        }
    }
}

/// Whether this process runs as root (mounting file systems, marking files immutable).
pub(crate) fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// An HTTP client for talking to `igsync serve` (no TLS needed, but reqwest wants a
/// crypto provider installed).
pub(crate) fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Starts `igsync serve --listen 127.0.0.1:0 EXTRA…` and returns it with its base URL.
pub(crate) async fn serve(h: &Harness, extra: &[&str]) -> (Proc, String) {
    let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let mut proc = h.spawn(&args);
    let text = proc
        .wait_for_output("igsync serving on http://", Duration::from_secs(60))
        .await;
    let start = text.find("igsync serving on http://").unwrap() + "igsync serving on ".len();
    let url: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    (proc, url)
}

/// Creates an API key with `igsync keys create` and returns it.
pub(crate) async fn api_key(h: &Harness, name: &str) -> String {
    let run = h.ok(&["keys", "create", "--name", name], None).await;
    let key = run.stdout.trim().to_string();
    assert!(key.starts_with("igs_"), "{run}");
    key
}
