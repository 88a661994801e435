-- Report schedules may deliver a PDF. SQLite cannot change a CHECK constraint in place, so
-- report_schedules is rebuilt with its rows and ids; report_deliveries, which refers to it,
-- is set aside and restored around the rebuild (dropping the parent would cascade to it).
-- The AUTOINCREMENT counters keep their values so no id is ever reused.

CREATE TABLE report_pdf_sequences AS
    SELECT name, seq FROM sqlite_sequence
    WHERE name IN ('report_schedules', 'report_deliveries');

CREATE TABLE report_pdf_deliveries AS SELECT * FROM report_deliveries;
DROP TABLE report_deliveries;

CREATE TABLE report_schedules_pdf (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER REFERENCES accounts (id) ON DELETE CASCADE,
    every      TEXT    NOT NULL CHECK (every IN ('weekly', 'monthly')),
    target     TEXT    NOT NULL,
    format     TEXT    NOT NULL CHECK (format IN ('html', 'csv', 'pdf')),
    created_at INTEGER NOT NULL
) STRICT;
INSERT INTO report_schedules_pdf (id, account_id, every, target, format, created_at)
    SELECT id, account_id, every, target, format, created_at FROM report_schedules;
DROP TABLE report_schedules;
ALTER TABLE report_schedules_pdf RENAME TO report_schedules;

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
INSERT INTO report_deliveries (id, schedule_id, account_id, period_start, period_end,
                               attempts, last_error, last_attempt_at, delivered_at)
    SELECT id, schedule_id, account_id, period_start, period_end,
           attempts, last_error, last_attempt_at, delivered_at
    FROM report_pdf_deliveries;
DROP TABLE report_pdf_deliveries;

DELETE FROM sqlite_sequence WHERE name IN ('report_schedules', 'report_deliveries');
INSERT INTO sqlite_sequence (name, seq) SELECT name, seq FROM report_pdf_sequences;
DROP TABLE report_pdf_sequences;
