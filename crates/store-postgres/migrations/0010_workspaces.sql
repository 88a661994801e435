-- Workspaces (one per client, say) group accounts; API keys, and the dashboard sessions
-- signed in with them, belong to one workspace (NULL: every workspace) with a role. Every
-- change made through the API, the dashboard or the command line is kept in the audit log.

CREATE TABLE workspaces (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL
);

CREATE TABLE workspace_accounts (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    account_id   bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    added_at     timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, account_id)
);

CREATE INDEX workspace_accounts_by_account ON workspace_accounts (account_id);

-- Keys made before workspaces keep what they could do: every workspace, admin.
ALTER TABLE api_keys ADD COLUMN workspace_id bigint REFERENCES workspaces (id) ON DELETE CASCADE;
ALTER TABLE api_keys ADD COLUMN role text NOT NULL DEFAULT 'admin'
    CHECK (role IN ('viewer', 'operator', 'admin'));

CREATE TABLE audit_log (
    id      bigserial PRIMARY KEY,
    at      timestamptz NOT NULL,
    actor   text NOT NULL,
    via     text NOT NULL CHECK (via IN ('api', 'dashboard', 'cli')),
    source  text,
    action  text NOT NULL,
    target  text,
    outcome integer
);

CREATE INDEX audit_log_by_time ON audit_log (at);

-- Read-only links to one account's report: the token is shown once, only its digest is kept.
CREATE TABLE share_links (
    id         text PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    hash       text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    created_by text NOT NULL
);
