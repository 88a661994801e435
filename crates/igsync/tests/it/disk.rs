//! A full disk and a read-only database file under SQLite: igsync says so clearly, keeps
//! running, never corrupts the file (`PRAGMA integrity_check` on a fresh open afterwards)
//! and completes the sync once there is room again.
//!
//! As root (CI) the database lives on a tmpfs of its own: 1.5 MB that the sync overflows,
//! later grown with `mount -o remount,size=…`, and remounted read-only for the read-only
//! case. Without root the worker runs under `ulimit -f` (file size limit, SIGXFSZ ignored)
//! and the read-only case uses `chmod`; root ignores file modes, hence the mount.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{
    Harness, TempDir, TestDb, eventually, fleet_settled, is_root, pick, record_figures, sim_config,
    start_sim,
};
use crate::truth::{Catalogs, Checked, assert_fleet_matches_truth};

/// A directory for the database: a small tmpfs as root, a plain directory otherwise.
struct SmallDisk {
    _dir: TempDir,
    mnt: PathBuf,
    mounted: bool,
}

/// Runs `mount`; a remount read-only waits (up to 10 s) for files still open for writing
/// (connections a finished process or pool is still closing) to be closed.
fn mount(args: &[&str], target: &Path) {
    let mut tries = 0;
    loop {
        let out = Command::new("mount")
            .args(args)
            .arg(target)
            .output()
            .unwrap();
        if out.status.success() {
            return;
        }
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        tries += 1;
        assert!(tries < 100 && err.contains("busy"), "mount {args:?}: {err}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

impl SmallDisk {
    fn new(kib: u64) -> SmallDisk {
        let dir = TempDir::new("disk");
        let mnt = dir.path().join("mnt");
        std::fs::create_dir_all(&mnt).unwrap();
        let mounted = is_root();
        if mounted {
            mount(
                &["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"],
                &mnt,
            );
        }
        SmallDisk {
            _dir: dir,
            mnt,
            mounted,
        }
    }

    fn db_file(&self) -> PathBuf {
        self.mnt.join("igsync.db")
    }

    fn resize(&self, kib: u64) {
        mount(&["-o", &format!("remount,size={kib}k")], &self.mnt);
    }

    fn set_read_only(&self, read_only: bool) {
        if self.mounted {
            mount(
                &[
                    "-o",
                    if read_only {
                        "remount,ro"
                    } else {
                        "remount,rw"
                    },
                ],
                &self.mnt,
            );
            return;
        }
        let mode = |path: &Path, ro: u32, rw: u32| {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(
                path,
                std::fs::Permissions::from_mode(if read_only { ro } else { rw }),
            );
        };
        for name in ["igsync.db", "igsync.db-wal", "igsync.db-shm"] {
            mode(&self.mnt.join(name), 0o444, 0o644);
        }
        mode(&self.mnt, 0o555, 0o755);
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        if self.mounted {
            let _ = Command::new("umount").arg("-l").arg(&self.mnt).status();
        } else {
            self.set_read_only(false);
        }
    }
}

/// `PRAGMA integrity_check` through a fresh open of the file.
async fn integrity(file: &Path) -> Vec<String> {
    let store = store_sqlite::SqliteStore::open(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    let result = store.integrity_check().await.unwrap();
    store.close().await;
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_full_disk_is_reported_survived_and_corrupts_nothing() {
    let disk = SmallDisk::new(1536);
    let mut h = Harness::with_db(TestDb::sqlite_at(disk.db_file()), "diskfull");
    let (accounts, media) = pick((4, 150), (6, 200));
    let sim = start_sim(sim_config(61, accounts, media)).await;
    h.graph(&sim);
    h.register(&sim).await;
    h.ok(&["sync", "--all"], None).await;

    // As root the tmpfs fills up; otherwise the worker may not write files past 1.5 MB.
    let mut worker = if disk.mounted {
        h.spawn(&["worker"])
    } else {
        let script = "trap '' XFSZ; ulimit -f 3072; exec \"$0\" \"$@\"";
        h.spawn_command(h.command_in_shell(script, &["worker"]), &["worker"])
    };
    let full_at = Instant::now();
    let log = eventually(
        "the worker reports the full disk",
        Duration::from_secs(120),
        || {
            let text = worker.stderr();
            async move {
                (text.contains("database or disk is full") || text.contains("disk I/O error"))
                    .then_some(text)
            }
        },
    )
    .await;
    let line = log
        .lines()
        .find(|l| l.contains("is full") || l.contains("disk I/O error"))
        .unwrap()
        .to_string();
    assert!(!line.contains("panicked"), "{line}");
    // It keeps running (and failing clearly) while the disk stays full.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        worker.alive(),
        "the worker survives a full disk:\n{}",
        worker.stderr()
    );
    assert_eq!(
        integrity(&disk.db_file()).await,
        ["ok"],
        "no corruption while full"
    );
    let errors_while_full = worker
        .stderr()
        .lines()
        .filter(|l| l.contains("is full") || l.contains("disk I/O error"))
        .count();

    // Room again: as root the same process recovers on its own.
    if disk.mounted {
        disk.resize(256 * 1024);
    } else {
        assert!(worker.terminate().await.success());
        worker = h.spawn(&["worker"]);
    }
    let store = h.db.open().await;
    eventually(
        "the sync completes once there is room",
        Duration::from_secs(240),
        || async { fleet_settled(&*store).await.then_some(()) },
    )
    .await;
    let recovered = full_at.elapsed();
    assert!(worker.terminate().await.success(), "{}", worker.stderr());

    let catalogs = Catalogs::new(&sim);
    let mut checked = Checked::default();
    checked.add(assert_fleet_matches_truth(&store, &sim, &catalogs).await);
    drop(store);
    assert_eq!(integrity(&disk.db_file()).await, ["ok"]);
    record_figures(
        "sqlite_disk_full",
        serde_json::json!({
            "method": if disk.mounted { "tmpfs of 1.5 MB, grown to 256 MB" } else { "ulimit -f 3072" },
            "accounts": accounts,
            "first_error": line.split("error=").nth(1).unwrap_or(&line),
            "errors_logged_while_full": errors_while_full,
            "worker_restarted": !disk.mounted,
            "seconds_until_complete": recovered.as_secs(),
            "integrity_check": "ok",
            "rows_checked_against_ground_truth": checked.json(),
        }),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_read_only_file_gives_one_clear_line_and_changes_nothing() {
    let disk = SmallDisk::new(64 * 1024);
    let mut h = Harness::with_db(TestDb::sqlite_at(disk.db_file()), "readonly");
    let sim = start_sim(sim_config(62, 2, 30)).await;
    h.graph(&sim);
    h.register(&sim).await;
    h.ok(&["sync", "--all", "--wait"], None).await;
    let totals = |file: PathBuf| async move {
        let store = store_sqlite::SqliteStore::open(&format!("sqlite://{}", file.display()))
            .await
            .unwrap();
        let totals = store::Store::totals(&store).await.unwrap();
        store.close().await;
        totals
    };
    let before = totals(disk.db_file()).await;

    disk.set_read_only(true);
    let first = sim.accounts()[0].clone();
    let token = first.access_token.clone();
    let attempts: Vec<Vec<&str>> = vec![
        vec!["sync", "--all", "--wait"],
        vec!["migrate"],
        vec!["keys", "create", "--name", "ro"],
        vec!["accounts", "pause", &first.ig_user_id],
        vec![
            "accounts",
            "add",
            "--ig-user-id",
            "17841400999999999",
            "--token-stdin",
            "--no-verify",
        ],
    ];
    let mut messages = Vec::new();
    for args in &attempts {
        let run = h.run(args, Some(&token)).await;
        assert!(
            !run.status.success(),
            "writing to a read-only database fails: {run}"
        );
        let err = run.stderr.trim();
        assert_eq!(err.lines().count(), 1, "one line: {run}");
        assert!(err.starts_with("error: "), "{run}");
        assert!(
            err.contains("read-only") || err.contains("readonly") || err.contains("refuses writes"),
            "the error says why: {run}"
        );
        assert!(!err.contains("panicked"), "{run}");
        messages.push(err.to_string());
    }
    disk.set_read_only(false);

    assert_eq!(integrity(&disk.db_file()).await, ["ok"]);
    assert_eq!(totals(disk.db_file()).await, before, "nothing changed");
    // Writable again: everything works.
    h.ok(&["sync", "--all", "--wait"], None).await;
    record_figures(
        "sqlite_read_only",
        serde_json::json!({
            "method": if disk.mounted { "tmpfs remounted read-only" } else { "chmod 444 / 555" },
            "commands_refused": attempts.len(),
            "messages": messages,
            "integrity_check": "ok",
            "rows_unchanged": before.media + before.media_insight_snapshots + before.account_insight_days,
        }),
    );
}
