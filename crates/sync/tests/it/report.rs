//! The report use case: built from the stored history in the account's time zone, and a
//! stored time zone that is not an IANA name is a clear error, never a silent UTC.

use chrono::{TimeZone, Utc};
use store::{EncryptedToken, LoginKind, NewAccount};

use crate::both_dialects;
use crate::db::{Dialect, TestDb};

both_dialects!(an_invalid_stored_time_zone_is_an_error_naming_it);

async fn an_invalid_stored_time_zone_is_an_error_naming_it(d: Dialect) {
    let db = TestDb::new(d).await;
    let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    let mut accounts = Vec::new();
    for (n, zone) in [(1, "Europe/Berlin"), (2, "Mars/Olympus_Mons")] {
        let account = db
            .store
            .account_upsert(NewAccount {
                ig_user_id: format!("1784{n:010}"),
                username: format!("zone{n}"),
                name: None,
                account_type: store::AccountType::Business,
                login: LoginKind::Instagram,
                page_id: None,
                timezone: Some(zone.to_owned()),
                token: EncryptedToken(vec![1, 2, 3]),
                token_expires_at: None,
                now,
            })
            .await
            .unwrap();
        accounts.push(account);
    }
    let period = analytics::Period::ending_on(now.date_naive(), 30).unwrap();

    let berlin = &accounts[0];
    assert_eq!(berlin.time_zone().unwrap(), chrono_tz::Europe::Berlin);
    let report = sync::build_report(&*db.store, berlin, period, now)
        .await
        .unwrap();
    assert!(report.trends.trending_rows.is_empty());

    let mars = &accounts[1];
    let err = mars.time_zone().unwrap_err().to_string();
    assert!(
        err.contains("Mars/Olympus_Mons") && err.contains("@zone2"),
        "{err}"
    );
    let err = sync::build_report(&*db.store, mars, period, now)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("Mars/Olympus_Mons"), "{err}");
    let window = sync::HistoryWindow::trailing(now, 30);
    let err = sync::load_account_history(&*db.store, mars.id, window)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("Mars/Olympus_Mons"), "{err}");
    db.teardown().await;
}
