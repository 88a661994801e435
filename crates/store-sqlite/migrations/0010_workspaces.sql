-- Workspaces (one per client, say) group accounts; API keys, and the dashboard sessions
-- signed in with them, belong to one workspace (NULL: every workspace) with a role. Every
-- change made through the API, the dashboard or the command line is kept in the audit log.

CREATE TABLE workspaces (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE workspace_accounts (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    account_id   INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    added_at     INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, account_id)
) STRICT;

CREATE INDEX workspace_accounts_by_account ON workspace_accounts (account_id);

-- Keys made before workspaces keep what they could do: every workspace, admin.
ALTER TABLE api_keys ADD COLUMN workspace_id INTEGER REFERENCES workspaces (id) ON DELETE CASCADE;
ALTER TABLE api_keys ADD COLUMN role TEXT NOT NULL DEFAULT 'admin'
    CHECK (role IN ('viewer', 'operator', 'admin'));

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    actor   TEXT    NOT NULL,
    via     TEXT    NOT NULL CHECK (via IN ('api', 'dashboard', 'cli')),
    source  TEXT,
    action  TEXT    NOT NULL,
    target  TEXT,
    outcome INTEGER
) STRICT;

CREATE INDEX audit_log_by_time ON audit_log (at);

-- Read-only links to one account's report: the token is shown once, only its digest is kept.
CREATE TABLE share_links (
    id         TEXT    PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    hash       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    created_by TEXT    NOT NULL
) STRICT;
