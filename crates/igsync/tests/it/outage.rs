//! PostgreSQL going away mid-sync: on a throwaway cluster this test starts itself (the
//! system's `initdb` and `pg_ctl`, a free port, as the `postgres` user when run as root), the
//! server is stopped hard in the middle of a fleet sync and started again after 5 s (60 s
//! with `IGSYNC_SLOW_TESTS=1`). `igsync serve` and `igsync worker` keep running, `/readyz`
//! reports the outage within 2 s of every probe while it lasts (with a key the server has
//! verified and with one it has never seen), API calls fail fast with 503
//! `database_unavailable`, jobs retry, and the sync completes with data equal to the ground
//! truth.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::Utc;
use store::JobState;

use crate::support::{
    Harness, TempDir, TestDb, all_jobs, api_key, assert_completions_recorded, eventually,
    fleet_settled, http, is_root, pick, record_figures, serve, sim_config, start_sim,
};
use crate::truth::{Catalogs, Checked, assert_fleet_matches_truth};

/// A PostgreSQL cluster of the test's own, stopped (hard) when dropped.
struct Cluster {
    dir: TempDir,
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    as_postgres: bool,
}

/// The newest PostgreSQL's binaries under `/usr/lib/postgresql/*/bin`.
fn pg_bin() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
                    let bin = e.path().join("bin");
                    bin.join("pg_ctl").exists().then_some((v, bin))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().map(|(_, bin)| bin).expect(
        "the outage test starts its own PostgreSQL: install the server package (initdb and \
             pg_ctl under /usr/lib/postgresql/VERSION/bin)",
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    fn start() -> Cluster {
        let bin = pg_bin();
        let dir = TempDir::new("pgcluster");
        let data = dir.path().join("data");
        std::fs::create_dir_all(dir.path().join("sock")).unwrap();
        // PostgreSQL refuses to run as root: the cluster belongs to `postgres` then.
        let as_postgres = is_root();
        if as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success(), "chown of the cluster directory");
        }
        let cluster = Cluster {
            dir,
            bin,
            data,
            port: free_port(),
            as_postgres,
        };
        let out = cluster.tool(
            "initdb",
            &[
                "-D",
                &cluster.data.display().to_string(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        cluster.pg_ctl_start();
        cluster
    }

    fn tool(&self, name: &str, args: &[&str]) -> std::process::Output {
        let exe = self.bin.join(name);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        cmd.args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap()
    }

    fn pg_ctl_start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100",
            self.port,
            self.dir.path().join("sock").display()
        );
        let log = self.dir.path().join("postgres.log");
        let out = self.tool(
            "pg_ctl",
            &[
                "-D",
                &self.data.display().to_string(),
                "-o",
                &options,
                "-l",
                &log.display().to_string(),
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl start: {}{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Stops the server the hard way (like a crash or a pulled cable).
    fn stop_immediately(&self) {
        let out = self.tool(
            "pg_ctl",
            &[
                "-D",
                &self.data.display().to_string(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn data_dir(&self) -> &Path {
        &self.data
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.tool(
            "pg_ctl",
            &[
                "-D",
                &self.data_dir().display().to_string(),
                "-m",
                "immediate",
                "stop",
            ],
        );
    }
}

/// GET with a bearer key: the status (0 when no answer came) and the body.
async fn get(client: reqwest::Client, url: String, key: String) -> (u16, String) {
    match client.get(url).bearer_auth(&key).send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.text().await.unwrap_or_default())
        }
        Err(e) => (0, e.to_string()),
    }
}

/// The `q` quantile of sorted samples, rounded to 0.1 (0 when there are none).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else {
        return 0.0;
    };
    (sorted[((last as f64) * q).round() as usize] * 10.0).round() / 10.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_outage_mid_sync_is_reported_waited_out_and_loses_nothing() {
    let outage = Duration::from_secs(pick(5, 60));
    let cluster = Cluster::start();
    let db = TestDb::postgres_on(&cluster.url(), "outage").await;
    let mut h = Harness::with_db(db, "outage");
    let mut config = sim_config(51, 4, 100);
    config.latency = Duration::from_millis(60);
    let sim = start_sim(config).await;
    h.graph(&sim);
    h.register(&sim).await;
    let key = api_key(&h, "probe").await;
    // Never used before the outage: checking it needs the database.
    let unseen = api_key(&h, "unseen").await;
    let store = h.db.open().await;
    let started = Utc::now();

    let (mut server, base) = serve(&h, &[]).await;
    let mut worker = h.spawn(&["worker"]);
    let client = http();
    let readyz = |client: reqwest::Client, base: String, key: String| async move {
        get(client, format!("{base}/readyz"), key).await
    };
    let (status, body) = readyz(client.clone(), base.clone(), key.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"ready\""), "{body}");

    h.ok(&["sync", "--all"], None).await;
    // Mid-sync: some steps done, most still to come.
    eventually(
        "the fleet sync is under way",
        Duration::from_secs(120),
        || async {
            let done = all_jobs(&*store)
                .await
                .iter()
                .filter(|j| j.state == JobState::Completed)
                .count();
            (done >= 3).then_some(())
        },
    )
    .await;
    drop(store);
    let completed_before = {
        let s = h.db.open().await;
        let n = all_jobs(&*s)
            .await
            .iter()
            .filter(|j| j.state == JobState::Completed)
            .count();
        drop(s);
        n
    };
    assert!(completed_before < 4 * 7, "the outage starts mid-sync");

    cluster.stop_immediately();
    let down_at = Instant::now();
    // Every 500 ms while PostgreSQL is down: `/readyz` with the verified key and with the
    // unseen one, and an API call (each on its own, so a slow answer does not hide the
    // next one).
    let mut probes = tokio::task::JoinSet::new();
    let mut tick = 0usize;
    while down_at.elapsed() < outage {
        let probe_key = if tick.is_multiple_of(2) {
            &key
        } else {
            &unseen
        };
        for (what, path, k) in [
            ("readyz", "/readyz", probe_key.clone()),
            ("api", "/api/v1/accounts", key.clone()),
        ] {
            let (c, url) = (client.clone(), format!("{base}{path}"));
            probes.spawn(async move {
                let sent = Instant::now();
                let (status, body) = get(c, url, k).await;
                (what, status, body, sent, Instant::now())
            });
        }
        tick += 1;
        assert!(
            server.alive(),
            "igsync serve exited during the outage:\n{}",
            server.stderr()
        );
        assert!(
            worker.alive(),
            "igsync worker exited during the outage:\n{}",
            worker.stderr()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let restart_at = Instant::now();
    cluster.pg_ctl_start();
    let outage_secs = (restart_at - down_at).as_secs_f64();
    let mut during = Vec::new();
    let (mut readyz_ms, mut api_ms) = (Vec::new(), Vec::new());
    while let Some(joined) = probes.join_next().await {
        let (what, status, body, sent, at) = joined.unwrap();
        if at >= restart_at {
            continue;
        }
        // Answered while PostgreSQL was down: never "ready", never a success.
        assert_eq!(status, 503, "{what}: {body}");
        let took = at - sent;
        if what == "readyz" {
            assert!(body.contains("\"unavailable\""), "{body}");
            assert!(
                took < Duration::from_secs(2),
                "/readyz took {took:?} {:.1} s into the outage",
                (sent - down_at).as_secs_f64()
            );
            readyz_ms.push(took.as_secs_f64() * 1000.0);
            during.push(status);
        } else {
            assert!(body.contains("\"database_unavailable\""), "{body}");
            // The first calls may find the outage out themselves; after that, at once.
            if sent - down_at > Duration::from_secs(2) {
                assert!(took < Duration::from_secs(2), "an API call took {took:?}");
                api_ms.push(took.as_secs_f64() * 1000.0);
            }
        }
    }
    assert!(
        during.len() >= 2,
        "/readyz answered during the outage: {during:?}"
    );
    readyz_ms.sort_by(f64::total_cmp);
    api_ms.sort_by(f64::total_cmp);

    let recovered_after = eventually(
        "/readyz reports ready again",
        Duration::from_secs(120),
        || {
            let (c, b, k) = (client.clone(), base.clone(), key.clone());
            async move {
                let (status, _) = readyz(c, b, k).await;
                (status == 200).then(Instant::now)
            }
        },
    )
    .await
        - down_at;
    let store = h.db.open().await;
    eventually(
        "the fleet sync completes after the outage",
        Duration::from_secs(300),
        || async { fleet_settled(&*store).await.then_some(()) },
    )
    .await;
    assert!(
        server.alive() && worker.alive(),
        "both processes survived the outage"
    );
    assert!(worker.terminate().await.success(), "{}", worker.stderr());
    assert!(server.terminate().await.success(), "{}", server.stderr());

    let catalogs = Catalogs::new(&sim);
    let mut checked = Checked::default();
    let jobs = all_jobs(&*store).await;
    let mut retried = 0;
    assert_completions_recorded(&*store, &jobs, started).await;
    for j in &jobs {
        retried += j.errors.len();
    }
    checked.add(assert_fleet_matches_truth(&store, &sim, &catalogs).await);
    let logs = h.all_logs();
    record_figures(
        "postgres_outage",
        serde_json::json!({
            "outage_seconds": (outage_secs * 10.0).round() / 10.0,
            "readyz_503_answers_during_outage": during.len(),
            "readyz_ms_p50_max": [percentile(&readyz_ms, 0.5), percentile(&readyz_ms, 1.0)],
            "api_503_answers_after_the_first_2_s": api_ms.len(),
            "api_ms_p50_max": [percentile(&api_ms, 0.5), percentile(&api_ms, 1.0)],
            "ready_again_seconds_after_stop": recovered_after.as_secs_f64().round(),
            "jobs_completed_before_outage": completed_before,
            "jobs_completed": jobs.len(),
            "failed_attempts_retried": retried,
            "processes_exited_during_outage": 0,
            "worker_log_warnings": logs.matches(" WARN ").count(),
            "rows_checked_against_ground_truth": checked.json(),
        }),
    );
    drop(store);
    h.db.teardown().await;
    drop(cluster);
}
