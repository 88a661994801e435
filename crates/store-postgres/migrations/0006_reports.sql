-- Scheduled reports and the history of each period's delivery.

CREATE TABLE report_schedules (
    id         bigserial PRIMARY KEY,
    account_id bigint REFERENCES accounts (id) ON DELETE CASCADE,
    every      text NOT NULL CHECK (every IN ('weekly', 'monthly')),
    target     text NOT NULL,
    format     text NOT NULL CHECK (format IN ('html', 'csv')),
    created_at timestamptz NOT NULL
);

CREATE TABLE report_deliveries (
    id              bigserial PRIMARY KEY,
    schedule_id     bigint NOT NULL REFERENCES report_schedules (id) ON DELETE CASCADE,
    account_id      bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    period_start    date NOT NULL,
    period_end      date NOT NULL,
    attempts        integer NOT NULL,
    last_error      text,
    last_attempt_at timestamptz NOT NULL,
    delivered_at    timestamptz,
    UNIQUE (schedule_id, account_id, period_start)
);
