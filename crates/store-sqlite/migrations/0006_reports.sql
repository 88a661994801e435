-- Scheduled reports and the history of each period's delivery.

CREATE TABLE report_schedules (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER REFERENCES accounts (id) ON DELETE CASCADE,
    every      TEXT    NOT NULL CHECK (every IN ('weekly', 'monthly')),
    target     TEXT    NOT NULL,
    format     TEXT    NOT NULL CHECK (format IN ('html', 'csv')),
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE report_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule_id     INTEGER NOT NULL REFERENCES report_schedules (id) ON DELETE CASCADE,
    account_id      INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    period_start    TEXT    NOT NULL,
    period_end      TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    last_error      TEXT,
    last_attempt_at INTEGER NOT NULL,
    delivered_at    INTEGER,
    UNIQUE (schedule_id, account_id, period_start)
) STRICT;
