//! The command line: every subcommand and flag of `igsync`, with help texts that read well.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// igsync keeps the complete history of Instagram professional accounts' analytics and
/// turns it into answers: it syncs profiles, posts, reels, stories, insights and audience
/// demographics from the Instagram Graph API on schedules, through a durable job queue,
/// into SQLite or PostgreSQL, and serves reports, a JSON API and a dashboard.
#[derive(Debug, Parser)]
#[command(
    name = "igsync",
    version,
    propagate_version = true,
    max_term_width = 100
)]
#[command(
    after_help = "Start with `igsync demo` to see everything on a simulated fleet.\n\
Configuration: igsync.toml in the working directory (or --config), IGSYNC_* environment \
variables and flags, in increasing priority. Zero configuration uses ./igsync.db."
)]
pub(crate) struct Cli {
    /// Configuration file (default: ./igsync.toml when it exists).
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) config: Option<PathBuf>,

    /// Database URL: sqlite://PATH or postgres://USER@HOST:PORT/DB [env: IGSYNC_DATABASE_URL].
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) database_url: Option<String>,

    /// Log format [env: IGSYNC_LOG_FORMAT].
    #[arg(long, global = true, value_enum)]
    pub(crate) log_format: Option<LogFormatArg>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum LogFormatArg {
    Pretty,
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create or upgrade the database schema (also done at every start).
    Migrate,
    /// Copy a whole igsync database to another (SQLite → PostgreSQL and back).
    #[command(subcommand)]
    Db(DbCommand),
    /// Take an online, verified backup of a SQLite database (PostgreSQL: use pg_dump).
    Backup(BackupArgs),
    /// Put a backup taken with `igsync backup` back into the configured database.
    Restore(RestoreArgs),
    /// Register, list, pause, resume and remove Instagram accounts.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Enqueue a sync of one account or all accounts (and run it with --wait).
    Sync(SyncArgs),
    /// Run queue workers and schedules until stopped (SIGTERM drains gracefully).
    Worker(WorkerArgs),
    /// Show the sync history: runs, their steps, cost and completeness.
    History(HistoryArgs),
    /// List, pause, resume or run the recurring schedules now.
    #[command(subcommand)]
    Schedules(SchedulesCommand),
    /// Meta's webhook notifications: per account whether it is subscribed, its last event,
    /// refused notifications; subscribe accounts.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Print an analytics report for an account.
    Report(ReportArgs),
    /// Schedule reports delivered by email (SMTP) or to a webhook, weekly or monthly.
    #[command(subcommand)]
    Reports(ReportsCommand),
    /// Track competitors' public counters through Business Discovery, snapshotted daily.
    #[command(subcommand)]
    Competitors(CompetitorsCommand),
    /// Write the full history as Hive-partitioned CSV, JSON Lines or Parquet files (incremental).
    Export(ExportArgs),
    /// Serve the JSON API, the dashboard and the queue monitor.
    Serve(ServeArgs),
    /// Manage API keys for the HTTP API and dashboard, and the token encryption key.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Group accounts into workspaces (one per client, say) that keys can be limited to.
    #[command(subcommand)]
    Workspaces(WorkspacesCommand),
    /// The audit log of every change made through the API, the dashboard or the command line.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Read-only links to one account's report, for clients: expiring and revocable.
    #[command(subcommand)]
    Share(ShareCommand),
    /// The PostgreSQL warehouse views (Fivetran-compatible) and their read-only role.
    #[command(subcommand)]
    Warehouse(WarehouseCommand),
    /// Serve a simulated Instagram Graph API with seeded, deterministic accounts.
    Simulate(SimulateArgs),
    /// Run everything on a simulated fleet: sync, analytics and the dashboard.
    Demo(DemoArgs),
    /// Measure sync, ingest, report and API performance.
    Bench(BenchArgs),
    /// Check configuration, database and Graph API reachability, and say how to fix problems.
    Doctor,
    /// Print every setting: its effective value, where it came from and what it means.
    Config,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print the manual page (roff), or write one page per command with --out.
    Man(ManArgs),
    /// The load generator of `igsync bench api` (run as a second process).
    #[command(hide = true)]
    BenchLoad(BenchLoadArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "Install, e.g.: igsync completions bash > ~/.local/share/bash-completion/completions/igsync\n\
zsh: igsync completions zsh > ~/.zfunc/_igsync (with ~/.zfunc in $fpath)\n\
fish: igsync completions fish > ~/.config/fish/completions/igsync.fish"
)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// Write igsync.1 and one igsync-COMMAND.1 per subcommand into this directory (created
    /// when missing) instead of printing igsync.1.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct BenchLoadArgs {
    #[arg(long)]
    pub(crate) url: String,
    #[arg(long, default_value_t = 32)]
    pub(crate) connections: u32,
    #[arg(long, default_value_t = 10)]
    pub(crate) seconds: u64,
    /// The API key, from the environment so it never shows in the process list.
    #[arg(long, env = "IGSYNC_BENCH_KEY", hide_env_values = true)]
    pub(crate) key: String,
}

/// Which account: its Instagram user id, its @username or igsync's numeric id.
pub(crate) type AccountArg = String;

#[derive(Debug, Subcommand)]
pub(crate) enum AccountsCommand {
    /// Register an account (or replace its token). The token is verified against the Graph
    /// API and stored encrypted.
    Add(AccountsAddArgs),
    /// Connect accounts by logging in with Meta: prints the login URL, waits for Meta's
    /// redirect on http://127.0.0.1:PORT/callback and registers the accounts the login
    /// reaches. Needs graph.app_id and graph.app_secret.
    Connect(AccountsConnectArgs),
    /// List registered accounts with their sync status.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Remove an account and all its stored history.
    Remove {
        account: AccountArg,
        /// Confirm the deletion (required: history cannot be recovered).
        #[arg(long)]
        yes: bool,
    },
    /// Pause an account: schedules skip it until it is resumed.
    Pause { account: AccountArg },
    /// Resume a paused account.
    Resume { account: AccountArg },
    /// Set the time zone used for periods and best posting times.
    SetTimezone {
        account: AccountArg,
        /// An IANA time zone, e.g. Europe/Berlin.
        timezone: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct AccountsAddArgs {
    /// The Instagram professional account's id (the IG user id).
    #[arg(long, value_name = "ID")]
    pub(crate) ig_user_id: String,
    /// The long-lived access token. Prefer --token-stdin or IGSYNC_ACCOUNT_TOKEN: a flag is
    /// visible to other users of this machine.
    #[arg(
        long,
        env = "IGSYNC_ACCOUNT_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub(crate) token: Option<String>,
    /// Read the token from standard input.
    #[arg(long, conflicts_with = "token")]
    pub(crate) token_stdin: bool,
    /// IANA time zone for periods and best posting times.
    #[arg(long, default_value = "UTC", value_name = "TZ")]
    pub(crate) timezone: String,
    /// Which login the token comes from.
    #[arg(long, value_enum, ignore_case = true, default_value_t = LoginArg::Facebook)]
    pub(crate) login: LoginArg,
    /// Store without asking the Graph API first (the username is then the id).
    #[arg(long)]
    pub(crate) no_verify: bool,
}

#[derive(Debug, Args)]
pub(crate) struct AccountsConnectArgs {
    /// Facebook Login for Business (Pages' Instagram accounts) or Business Login for
    /// Instagram (the account itself).
    #[arg(long, value_enum, ignore_case = true)]
    pub(crate) login: LoginArg,
    /// Add every account the login reaches without asking (required without a terminal).
    #[arg(long)]
    pub(crate) all: bool,
    /// Port of the local redirect URI http://127.0.0.1:PORT/callback (register that URI in
    /// your Meta app; 0 picks a free port).
    #[arg(long, default_value_t = 8765, value_name = "PORT")]
    pub(crate) redirect_port: u16,
    /// Ask again for permissions declined before.
    #[arg(long)]
    pub(crate) rerequest: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LoginArg {
    /// Instagram API with Facebook Login (graph.facebook.com).
    Facebook,
    /// Instagram API with Instagram Login (graph.instagram.com).
    Instagram,
}

#[derive(Debug, Args)]
pub(crate) struct SyncArgs {
    /// The account to sync.
    #[arg(long, conflicts_with = "all", required_unless_present = "all")]
    pub(crate) account: Option<AccountArg>,
    /// Sync every active account.
    #[arg(long)]
    pub(crate) all: bool,
    /// Full sync or the light hourly one.
    #[arg(long, value_enum, default_value_t = PlanArg::Full, conflicts_with = "only")]
    pub(crate) plan: PlanArg,
    /// Sync one kind of data on its own (recorded in the history like any sync).
    #[arg(long, value_enum, value_name = "WHAT")]
    pub(crate) only: Option<OnlyArg>,
    /// With --only media-insights: read the insights of these posts (Instagram media ids).
    #[arg(long, value_name = "ID", num_args = 1.., value_delimiter = ',', requires = "only")]
    pub(crate) media: Vec<String>,
    /// With --only media-insights or account-insights: the first day (YYYY-MM-DD) of the
    /// posts published, or of the account insight days, to read.
    #[arg(long, value_name = "DATE", value_parser = parse_day, requires = "only")]
    pub(crate) since: Option<chrono::NaiveDate>,
    /// The last day, inclusive (default: today).
    #[arg(long, value_name = "DATE", value_parser = parse_day, requires = "since")]
    pub(crate) until: Option<chrono::NaiveDate>,
    /// Wait until the syncs finish, running them in this process when no worker is running;
    /// exits non-zero if one fails.
    #[arg(long)]
    pub(crate) wait: bool,
}

/// What `sync --only` syncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OnlyArg {
    /// Followers, follows and media counts.
    Profile,
    /// The list of posts, reels and carousels (new, changed, deleted).
    Media,
    /// Post insights: the posts due for a refresh, or those of --media / --since.
    MediaInsights,
    /// Daily account metrics: the usual days, or those of --since/--until.
    AccountInsights,
    /// Live stories and their insights.
    Stories,
    /// Audience demographics (today's snapshot, read again).
    Demographics,
}

fn parse_day(value: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map_err(|_| format!("expected a date YYYY-MM-DD, got {value:?}"))
}

/// An instant in RFC 3339 (`2026-12-08T00:00:00Z`), to the whole second.
fn parse_instant(value: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let at = chrono::DateTime::parse_from_rfc3339(value.trim())
        .map_err(|_| format!("expected a time like 2026-12-08T00:00:00Z, got {value:?}"))?
        .with_timezone(&chrono::Utc);
    if at.timestamp_subsec_nanos() != 0 {
        return Err(format!("expected a whole second, got {value:?}"));
    }
    Ok(at)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PlanArg {
    /// Profile, media, media insights, stories, demographics, account insights.
    Full,
    /// Profile, new media, due media insights, stories, account insights.
    Light,
}

#[derive(Debug, Args)]
pub(crate) struct WorkerArgs {
    /// Jobs this worker runs at a time [env: IGSYNC_SYNC_CONCURRENCY].
    #[arg(long, value_name = "N")]
    pub(crate) concurrency: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct HistoryArgs {
    /// Only this account.
    #[arg(long)]
    pub(crate) account: Option<AccountArg>,
    /// How many runs.
    #[arg(long, default_value_t = 20)]
    pub(crate) limit: u32,
    /// Show each run's steps.
    #[arg(long)]
    pub(crate) steps: bool,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum WebhooksCommand {
    /// Per account: subscribed fields (or Meta's refusal), the last event received; refused
    /// notifications by reason; events waiting to be processed.
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Ask Meta to send the notifications of one account (or all with --all).
    Subscribe {
        /// Instagram user id, @username or igsync id.
        account: Option<String>,
        /// Every registered account.
        #[arg(long, conflicts_with = "account")]
        all: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum SchedulesCommand {
    /// List schedules with their last and next run.
    List,
    /// Pause a schedule.
    Pause { name: String },
    /// Resume a schedule.
    Resume { name: String },
    /// Fire a schedule now.
    Run { name: String },
}

#[derive(Debug, Args)]
#[command(
    after_help = "Files: DIR/table=T/account_id=A/dt=YYYY-MM-DD/part-….csv|jsonl|parquet; \
the state of incremental runs in DIR/export-state.json (docs/export.md)."
)]
pub(crate) struct ExportArgs {
    /// File format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
    pub(crate) format: ExportFormat,
    /// The dataset directory (created when missing). A later run into the same directory
    /// adds only what is new.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// Only this account (Instagram user id, @username or igsync id).
    #[arg(long)]
    pub(crate) account: Option<AccountArg>,
    /// Only rows at or after this time (RFC 3339, or YYYY-MM-DD for midnight UTC), on each
    /// table's partition time.
    #[arg(long, value_name = "T")]
    pub(crate) since: Option<String>,
    /// Only these tables (comma-separated); all by default.
    #[arg(long, value_delimiter = ',', value_name = "TABLE,…")]
    pub(crate) tables: Vec<String>,
    /// Rows read per database round trip.
    #[arg(long, default_value_t = 65_536, hide = true)]
    pub(crate) page_rows: u32,
    /// Stop with an error after this many files were published (tests of resumption).
    #[arg(long, env = "IGSYNC_EXPORT_STOP_AFTER_FILES", hide = true)]
    pub(crate) stop_after_files: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExportFormat {
    /// RFC 4180 with a header row; an empty unquoted field is a missing value.
    Csv,
    /// One JSON object per line.
    Jsonl,
    /// Apache Parquet: zstd, typed columns, UTC microsecond timestamps.
    Parquet,
}

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The account to report on.
    #[arg(long)]
    pub(crate) account: AccountArg,
    /// First day (YYYY-MM-DD, in the account's time zone).
    #[arg(long, requires = "to", conflicts_with = "days")]
    pub(crate) from: Option<String>,
    /// Last day, inclusive (YYYY-MM-DD).
    #[arg(long, requires = "from")]
    pub(crate) to: Option<String>,
    /// The last N days up to today.
    #[arg(long, default_value_t = 30)]
    pub(crate) days: u32,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub(crate) format: ReportFormat,
    /// With --format csv: write text cells as they are. By default a cell that a spreadsheet
    /// would run as a formula (starting with = + - @) gets a leading ' (so @acme is written
    /// '@acme, shown as @acme).
    #[arg(long)]
    pub(crate) csv_raw: bool,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    pub(crate) output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportFormat {
    Table,
    Json,
    /// One row per figure; formula-like text cells get a leading ' (see --csv-raw).
    Csv,
    /// One self-contained HTML file with inline SVG charts, readable offline.
    Html,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on [env: IGSYNC_SERVER_LISTEN] (default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: Option<String>,
    /// Do not run queue workers and schedules in this process (run `igsync worker`
    /// separately). The default on PostgreSQL, where workers usually run apart.
    #[arg(long, conflicts_with = "worker")]
    pub(crate) no_worker: bool,
    /// Run queue workers and schedules in this process. The default on SQLite.
    #[arg(long)]
    pub(crate) worker: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ReportsCommand {
    /// Deliver the report of the last complete week or month of an account (or every
    /// account) by email or to a webhook, from the queue, with retries.
    Schedule {
        /// Account id, username or Instagram user id.
        #[arg(long, conflicts_with = "all", required_unless_present = "all")]
        account: Option<String>,
        /// Every account (including accounts added later).
        #[arg(long)]
        all: bool,
        /// weekly (Monday to Sunday) or monthly (calendar month), in the account's time zone.
        #[arg(long, value_parser = ["weekly", "monthly"])]
        every: String,
        /// An email address (needs smtp.host) or an http(s):// webhook URL.
        #[arg(long)]
        to: String,
        /// html (figures table and follower chart, with a dashboard link), csv or pdf (attached,
        /// or the webhook body).
        #[arg(long, default_value = "html", value_parser = ["html", "csv", "pdf"])]
        format: String,
    },
    /// List the schedules and their delivery history.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a schedule and its delivery history.
    Remove { id: i64 },
    /// Deliver a schedule's report of the last complete period now.
    SendNow { id: i64 },
}

#[derive(Debug, Subcommand)]
pub(crate) enum CompetitorsCommand {
    /// Track another professional account, read with one of ours on Facebook Login.
    Add {
        /// The competitor's Instagram username (with or without @).
        username: String,
        /// Our account whose token and rate-limit budget the reads use (id, username or
        /// Instagram user id); it must be connected with Facebook Login.
        #[arg(long)]
        via: String,
    },
    /// List the tracked competitors with their latest counters and last error.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Stop tracking a competitor (by username) and drop its history.
    Remove { username: String },
    /// Take a snapshot of every competitor now (and run it here with --wait).
    Sync {
        /// Run the snapshots in this process and print where each competitor stands.
        #[arg(long)]
        wait: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Create an API key; it is printed once and only its hash is stored.
    Create {
        /// A name to recognise the key by.
        #[arg(long)]
        name: String,
        /// The workspace (name or id) whose accounts the key reaches; every workspace when
        /// omitted.
        #[arg(long, value_name = "WORKSPACE")]
        workspace: Option<String>,
        /// viewer (read analytics and reports), operator (also sync now, retry and cancel
        /// jobs, pause) or admin (also accounts, keys, schedules, settings).
        #[arg(long, default_value = "admin", value_parser = ["viewer", "operator", "admin"])]
        role: String,
    },
    /// List API keys (never the keys themselves).
    List,
    /// Revoke an API key by its id.
    Revoke { id: String },
    /// Re-encrypt every stored account token with a new secret key, in one transaction.
    RotateSecret {
        /// The new key (64 hex characters); generated and printed when omitted.
        #[arg(long, env = "IGSYNC_NEW_SECRET_KEY", hide_env_values = true)]
        new_key: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum WorkspacesCommand {
    /// Create a workspace.
    Create {
        /// Its name (unique).
        #[arg(long)]
        name: String,
    },
    /// List workspaces with their accounts.
    List {
        /// One JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Put an account in a workspace.
    AddAccount {
        /// The workspace, by name or id.
        #[arg(long)]
        workspace: String,
        /// The account: Instagram user id, @username or igsync id.
        #[arg(long)]
        account: String,
    },
    /// Take an account out of a workspace.
    RemoveAccount {
        /// The workspace, by name or id.
        #[arg(long)]
        workspace: String,
        /// The account: Instagram user id, @username or igsync id.
        #[arg(long)]
        account: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ShareCommand {
    /// Make a link to an account's report (the last 30 days); it is printed once.
    Create {
        /// The account: Instagram user id, @username or igsync id.
        #[arg(long)]
        account: String,
        /// How long the link works: a number of hours, days or weeks (12h, 7d, 2w).
        #[arg(long, default_value = "7d")]
        expires: String,
    },
    /// List links (never their tokens).
    List,
    /// Revoke a link by its id; it stops working at once.
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// The newest changes first: when, who, through what, from where, what, on what, answer.
    List {
        /// At most this many entries (0: all).
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// JSON Lines, one entry per line, for export.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum WarehouseCommand {
    /// Create (or update) a login role that can read the warehouse views and nothing else.
    Grant {
        /// The role's name (lower-case letters, digits and _).
        #[arg(long, value_name = "NAME")]
        role: String,
        /// Read the role's password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Drop a role made by `grant`, with its privileges in this database.
    Revoke {
        /// The role's name.
        #[arg(long, value_name = "NAME")]
        role: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct SimulateArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787", value_name = "ADDR")]
    pub(crate) listen: String,
    /// Number of simulated accounts.
    #[arg(long, default_value_t = 5)]
    pub(crate) accounts: usize,
    /// Average number of posts per account.
    #[arg(long, default_value_t = 200)]
    pub(crate) media: usize,
    /// Seed of the simulated world: the same seed gives the same data.
    #[arg(long, default_value_t = 42)]
    pub(crate) seed: u64,
    /// Latency added to every response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub(crate) latency_ms: u64,
    /// Random extra latency up to this many milliseconds.
    #[arg(long, default_value_t = 0)]
    pub(crate) jitter_ms: u64,
    /// Share of requests (0 to 1) that get an injected fault.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) fault_rate: f64,
    /// How post counts vary between accounts: uniform (0.5× to 1.5× of --media) or long-tail
    /// (median --media, a few accounts at 33× it).
    #[arg(long, value_enum, default_value = "uniform")]
    pub(crate) sizes: SimSizes,
    /// Share of accounts (0 to 1) that publish stories.
    #[arg(long, default_value_t = 1.0)]
    pub(crate) story_share: f64,
    /// Start of the simulated clock, e.g. 2026-12-08T00:00:00Z (default: now). The clock
    /// stands still unless moved (`POST /__sim/clock`): the same seed and start give the
    /// same world.
    #[arg(long, value_name = "TIME", value_parser = parse_instant)]
    pub(crate) start: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SimSizes {
    /// 0.5× to 1.5× of --media, uniformly.
    Uniform,
    /// Log-normal with median --media, capped at 33× it.
    LongTail,
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Number of simulated accounts.
    #[arg(long, default_value_t = 5)]
    pub(crate) accounts: usize,
    /// Average number of posts per account.
    #[arg(long, default_value_t = 300)]
    pub(crate) media: usize,
    /// Seed of the simulated world.
    #[arg(long, default_value_t = 42)]
    pub(crate) seed: u64,
    /// Sync and print the summary, then exit instead of serving the dashboard.
    #[arg(long)]
    pub(crate) no_serve: bool,
    /// Where the demo database lives (default: a fresh ./demo-data/igsync.db).
    #[arg(long, value_name = "DIR", default_value = "demo-data")]
    pub(crate) dir: PathBuf,
    /// Address of the dashboard.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub(crate) listen: String,
}

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// What to measure.
    #[arg(value_enum)]
    pub(crate) scenario: BenchScenario,
    /// Accounts in the simulated fleet.
    #[arg(long, default_value_t = 100)]
    pub(crate) accounts: usize,
    /// Posts per account.
    #[arg(long, default_value_t = 1000)]
    pub(crate) media: usize,
    /// Simulated Graph API latency in milliseconds.
    #[arg(long, default_value_t = 100)]
    pub(crate) latency_ms: u64,
    /// Accounts synced at a time per worker.
    #[arg(long, default_value_t = 16)]
    pub(crate) concurrency: u32,
    /// Worker counts to measure (PostgreSQL), e.g. 1,2.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    pub(crate) workers: Vec<u32>,
    /// Also run on PostgreSQL at this URL (default: $DATABASE_URL).
    #[arg(long, env = "DATABASE_URL", value_name = "URL")]
    pub(crate) postgres_url: Option<String>,
    /// Skip PostgreSQL.
    #[arg(long)]
    pub(crate) sqlite_only: bool,
    /// Write the results as JSON here.
    #[arg(long, value_name = "PATH")]
    pub(crate) json: Option<PathBuf>,
    /// Seed before the first simulated world of `analytics` (its ten worlds are seed + 1
    /// … seed + 10): another value measures on worlds the defaults were not chosen on.
    #[arg(long, default_value_t = 1000)]
    pub(crate) seed: u64,
    /// `day`: simulated hours of schedules after the backfill.
    #[arg(long, default_value_t = 24, value_name = "H")]
    pub(crate) hours: u32,
    /// `day`: when the simulated day starts, e.g. 2026-12-08T00:00:00Z (default: the next
    /// midnight UTC). Runs from the same start meet the same schedules at the same times of
    /// day, so their counted figures compare; runs from different times of day do not.
    #[arg(long, value_name = "TIME", value_parser = parse_instant)]
    pub(crate) start: Option<chrono::DateTime<chrono::Utc>>,
    /// `day`: simulated minutes the shared clock moves per step.
    #[arg(long, default_value_t = 5, value_name = "MIN")]
    pub(crate) step_minutes: u32,
    /// `day`: the database under test.
    #[arg(long, value_enum, default_value = "postgres")]
    pub(crate) db: BenchDbKind,
    /// `day`: more fleet sizes to measure (with the first worker count) for the charts
    /// against fleet size, e.g. 100,300.
    #[arg(long, value_delimiter = ',', value_name = "N,...")]
    pub(crate) fleet_sizes: Vec<usize>,
    /// `day`: a named set of sizes instead of --accounts, --hours and --workers.
    #[arg(long, value_enum)]
    pub(crate) preset: Option<BenchPreset>,
    /// `day`: measure nothing; print the table and draw the charts against fleet size from
    /// the runs of earlier results (`bench-results/day.json` or `day-partial.json` files),
    /// e.g. a 10,000-account run next to smaller fleets measured by another invocation.
    #[arg(long, value_delimiter = ',', value_name = "FILE,...")]
    pub(crate) from_results: Vec<PathBuf>,
}

/// The database of `igsync bench day`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum BenchDbKind {
    /// A scratch database on the PostgreSQL server of --postgres-url.
    Postgres,
    /// A scratch SQLite file.
    Sqlite,
}

/// Named sizes of `igsync bench day`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum BenchPreset {
    /// 60 accounts, 6 simulated hours, one worker: small enough for a test.
    Ci,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum BenchScenario {
    /// Fleet full sync at a given latency, SQLite and PostgreSQL, 1..N workers.
    Sync,
    /// The original specifications' one-request-per-post approach, side by side with igsync.
    Naive,
    /// Bulk upsert of insight snapshots, rows/s (also `store`).
    #[value(alias = "store")]
    Ingest,
    /// Report latency for an account with 10,000 posts.
    Report,
    /// Requests/s of the overview JSON API.
    Api,
    /// Accuracy of anomaly detection and forecasts on the simulator's labelled series.
    Analytics,
    /// Events/s of the receiver of Meta's webhook notifications (signature checks included).
    Webhooks,
    /// A synced fleet exported whole to Parquet from SQLite and PostgreSQL: rows/s, and bytes
    /// per million snapshot rows against the SQLite file.
    Export,
    /// A simulated day of a fleet in compressed time: the backfill, then the default
    /// schedules; requests, CPU, bytes, freshness and queue figures per account-day.
    Day,
    /// Everything above except `day`.
    All,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DbCommand {
    /// Copy every table, history included, from one database to another: SQLite →
    /// PostgreSQL, PostgreSQL → SQLite or within a dialect. The target is migrated first;
    /// the copy ends by comparing every table's row count and checksum.
    Copy(DbCopyArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "Stop `igsync serve` and `igsync worker` first: a copy refuses while the \
source has live workers (unless --force). Jobs running in the source are copied as pending, \
so they run once on the target. Tokens are copied encrypted: start igsync on the target with \
the same secret key."
)]
pub(crate) struct DbCopyArgs {
    /// The database to copy from (sqlite://PATH or postgres://…).
    #[arg(long, value_name = "URL")]
    pub(crate) from: String,
    /// The database to copy into (created and migrated when needed).
    #[arg(long, value_name = "URL")]
    pub(crate) to: String,
    /// Replace the target's rows, and copy even while the source has live workers.
    #[arg(long)]
    pub(crate) force: bool,
    /// Continue an interrupted copy into the same target.
    #[arg(long)]
    pub(crate) resume: bool,
    /// Rows per batch (one read and one write transaction).
    #[arg(long, default_value_t = sync::dbcopy::DEFAULT_BATCH, value_name = "ROWS")]
    pub(crate) batch: u32,
    /// Stop after this many batches, as an interruption would (for testing --resume).
    #[arg(long, hide = true, value_name = "N")]
    pub(crate) stop_after_batches: Option<u64>,
}

#[derive(Debug, Args)]
pub(crate) struct BackupArgs {
    /// The backup file to write (a SQLite database).
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,
    /// Replace FILE when it exists.
    #[arg(long)]
    pub(crate) force: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    /// The backup file written by `igsync backup`.
    #[arg(long, value_name = "FILE")]
    pub(crate) from: PathBuf,
    /// Replace the configured database's current rows.
    #[arg(long)]
    pub(crate) force: bool,
}
