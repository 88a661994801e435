//! Conformance cases for scheduled reports and their delivery history.

use super::*;
use crate::{NewReportSchedule, ReportAttempt};

pub async fn report_schedules_and_delivery_history(store: DynStore) {
    let a = account(&store, "12001").await.id;
    let b = account(&store, "12002").await.id;
    let weekly = NewReportSchedule {
        account_id: Some(a),
        every: "weekly".into(),
        target: "team@example.com".into(),
        format: "html".into(),
        created_at: at(0),
    };
    let monthly = NewReportSchedule {
        account_id: None,
        every: "monthly".into(),
        target: "https://hooks.example.com/reports".into(),
        format: "csv".into(),
        created_at: at(1),
    };
    let s1 = store.report_schedule_insert(weekly.clone()).await.unwrap();
    let s2 = store.report_schedule_insert(monthly.clone()).await.unwrap();
    assert!(s1.id < s2.id);
    assert_eq!(
        (s1.schedule.clone(), s2.schedule.clone()),
        (weekly, monthly)
    );
    assert_eq!(
        store.report_schedule_list().await.unwrap(),
        vec![s1.clone(), s2.clone()]
    );

    let attempt =
        |schedule: i64, account: AccountId, start: u32, minute: i64, error: Option<&str>| {
            ReportAttempt {
                schedule_id: schedule,
                account_id: account,
                period_start: day(start),
                period_end: day(start + 6),
                at: at(minute),
                error: error.map(str::to_string),
            }
        };
    // A failure, then a success, then a late repeat: one row whose count grows, whose
    // first success stays and whose last error is kept.
    let failed = store
        .report_delivery_record(attempt(s1.id, a, 2, 10, Some("SMTP 554 rejected")))
        .await
        .unwrap();
    assert_eq!(
        (
            failed.attempts,
            failed.last_error.as_deref(),
            failed.delivered_at
        ),
        (1, Some("SMTP 554 rejected"), None)
    );
    assert_eq!((failed.period_start, failed.period_end), (day(2), day(8)));
    assert_eq!(failed.last_attempt_at, at(10));
    let delivered = store
        .report_delivery_record(attempt(s1.id, a, 2, 20, None))
        .await
        .unwrap();
    assert_eq!(delivered.id, failed.id);
    assert_eq!(
        (
            delivered.attempts,
            delivered.last_error.as_deref(),
            delivered.delivered_at
        ),
        (2, Some("SMTP 554 rejected"), Some(at(20)))
    );
    let again = store
        .report_delivery_record(attempt(s1.id, a, 2, 30, Some("late failure")))
        .await
        .unwrap();
    assert_eq!(
        again.delivered_at,
        Some(at(20)),
        "a delivered period stays delivered"
    );
    assert_eq!(again.attempts, 3);

    store
        .report_delivery_record(attempt(s1.id, a, 9, 40, None))
        .await
        .unwrap();
    store
        .report_delivery_record(attempt(s2.id, b, 1, 41, None))
        .await
        .unwrap();
    let of_s1 = store.report_delivery_list(Some(s1.id), 0).await.unwrap();
    assert_eq!(
        of_s1.iter().map(|d| d.period_start).collect::<Vec<_>>(),
        vec![day(9), day(2)],
        "newest period first"
    );
    assert_eq!(of_s1[1], again);
    assert_eq!(store.report_delivery_list(None, 0).await.unwrap().len(), 3);
    assert_eq!(store.report_delivery_list(None, 1).await.unwrap().len(), 1);

    // Removing a schedule removes its history; an account's deletion removes its rows.
    assert!(store.report_schedule_remove(s1.id).await.unwrap());
    assert!(!store.report_schedule_remove(s1.id).await.unwrap());
    assert_eq!(
        store.report_schedule_list().await.unwrap(),
        vec![s2.clone()]
    );
    assert!(
        store
            .report_delivery_list(Some(s1.id), 0)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.account_delete(b).await.unwrap());
    assert!(
        store
            .report_delivery_list(None, 0)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.report_schedule_list().await.unwrap(), vec![s2]);
}
