//! Workspaces from the command line to a real `igsync serve`: a viewer key of one workspace
//! sees its account only, a share link shows one report until revoked, and every change made
//! through the command line is in `igsync audit list`.

use serde_json::Value;

use crate::both_dialects;
use crate::support::{Dialect, Harness, http, serve, sim_config, start_sim};

both_dialects!(a_workspace_key_sees_its_accounts_and_the_cli_changes_are_audited);

async fn a_workspace_key_sees_its_accounts_and_the_cli_changes_are_audited(d: Dialect) {
    let sim = start_sim(sim_config(2212, 2, 3)).await;
    let mut h = Harness::new(d, "workspaces").await;
    h.graph(&sim);
    h.ok(&["migrate"], None).await;
    h.register(&sim).await;
    let accounts = sim.accounts();
    let (mine, theirs) = (&accounts[0], &accounts[1]);
    h.ok(&["sync", "--all", "--wait"], None).await;

    h.ok(&["workspaces", "create", "--name", "north"], None)
        .await;
    let dup = h
        .run(&["workspaces", "create", "--name", "north"], None)
        .await;
    assert!(
        !dup.status.success() && dup.stderr.contains("exists already"),
        "{dup}"
    );
    h.ok(
        &[
            "workspaces",
            "add-account",
            "--workspace",
            "north",
            "--account",
            &mine.ig_user_id,
        ],
        None,
    )
    .await;
    let listed: Value =
        serde_json::from_str(&h.ok(&["workspaces", "list", "--json"], None).await.stdout).unwrap();
    assert_eq!(listed[0]["name"], "north");
    assert_eq!(listed[0]["accounts"].as_array().unwrap().len(), 1);
    let nowhere = h
        .run(
            &["keys", "create", "--name", "x", "--workspace", "south"],
            None,
        )
        .await;
    assert!(
        !nowhere.status.success() && nowhere.stderr.contains("no workspace named"),
        "{nowhere}"
    );
    let viewer = h
        .ok(
            &[
                "keys",
                "create",
                "--name",
                "client",
                "--workspace",
                "north",
                "--role",
                "viewer",
            ],
            None,
        )
        .await
        .stdout
        .trim()
        .to_owned();
    let keys = h.ok(&["keys", "list"], None).await.stdout;
    assert!(keys.contains("viewer") && keys.contains("north"), "{keys}");

    let (_server, base) = serve(&h, &["--no-worker"]).await;
    let client = http();
    let get = |path: String, key: &str| {
        let req = client.get(format!("{base}{path}")).bearer_auth(key);
        async move {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    let (status, body) = get("/api/v1/accounts".into(), &viewer).await;
    assert_eq!(status, 200, "{body}");
    let seen: Value = serde_json::from_str(&body).unwrap();
    let seen: Vec<&str> = seen["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["ig_user_id"].as_str().unwrap())
        .collect();
    assert_eq!(seen, vec![mine.ig_user_id.as_str()]);
    let (status, body) = get(
        format!("/api/v1/accounts/{}/report", mine.ig_user_id),
        &viewer,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = get(format!("/api/v1/accounts/{}", theirs.ig_user_id), &viewer).await;
    assert_eq!(status, 404, "{body}");
    assert!(!body.contains(&theirs.username), "{body}");
    // `/metrics`: its account's series only.
    let (status, metrics) = get("/metrics".into(), &viewer).await;
    assert_eq!(status, 200);
    assert!(metrics.contains(&mine.username), "{metrics}");
    assert!(!metrics.contains(&theirs.username), "{metrics}");
    let res = client
        .post(format!("{base}/api/v1/accounts/{}/pause", mine.ig_user_id))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403, "a viewer does not pause");

    // A share link: one report without a key, until revoked.
    let made = h
        .ok(
            &[
                "share",
                "create",
                "--account",
                &mine.ig_user_id,
                "--expires",
                "2d",
            ],
            None,
        )
        .await;
    let path = made.stdout.trim().to_owned();
    assert!(path.starts_with("/share/igshare_"), "{made}");
    let page = client.get(format!("{base}{path}")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(&mine.username) && !html.contains(&theirs.username));
    let list = h.ok(&["share", "list"], None).await.stdout;
    let id = list.split_whitespace().next().unwrap().to_owned();
    assert!(list.contains("active"), "{list}");
    h.ok(&["share", "revoke", &id], None).await;
    let page = client.get(format!("{base}{path}")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 410);
    let bad = h
        .run(
            &[
                "share",
                "create",
                "--account",
                &mine.ig_user_id,
                "--expires",
                "soon",
            ],
            None,
        )
        .await;
    assert!(
        !bad.status.success() && bad.stderr.contains("12h, 7d or 2w"),
        "{bad}"
    );

    // Every change above, newest first, with who and from where.
    let audit = h.ok(&["audit", "list", "--json"], None).await.stdout;
    let entries: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for wanted in [
        "accounts add",
        "sync",
        "workspaces create",
        "workspaces add-account",
        "keys create",
        "share create",
        "share revoke",
    ] {
        assert!(actions.contains(&wanted), "{wanted} in {actions:?}");
    }
    assert!(entries.iter().all(|e| e["via"] == "cli"), "{audit}");
    assert!(
        entries
            .iter()
            .all(|e| e["actor"].as_str().unwrap().starts_with("cli:")),
        "{audit}"
    );
    assert_eq!(actions.first(), Some(&"share revoke"), "newest first");
    assert!(!audit.contains(&viewer), "no key in the log");
    let table = h.ok(&["audit", "list"], None).await.stdout;
    assert!(table.contains("workspaces add-account"), "{table}");
}
