//! `igsync report`: an analytics report for one account over a period, as a table, JSON,
//! CSV or one self-contained HTML file.

use std::process::ExitCode;

use anyhow::{Context, bail};
use server::api::analytics::{ReportParams, period_of};
use server::report::{ReportFormat as Format, ReportSubject, render, render_csv_raw};

use crate::cli::{ReportArgs, ReportFormat};
use crate::cmd::resolve_account;
use crate::config::Config;
use crate::db;

pub(crate) async fn run(args: ReportArgs, config: &Config) -> anyhow::Result<ExitCode> {
    if args.csv_raw && args.format != ReportFormat::Csv {
        bail!("--csv-raw applies to --format csv only");
    }
    let store = db::open(&config.database_url).await?;
    let account = resolve_account(&store, &args.account).await?;
    let tz = account.time_zone()?;
    let params = ReportParams {
        from: args.from.clone(),
        to: args.to.clone(),
        days: if args.from.is_some() {
            None
        } else {
            Some(args.days)
        },
        format: None,
    };
    let now = chrono::Utc::now();
    let period = period_of(&params, now, tz).map_err(|e| anyhow::anyhow!("{e}"))?;
    let report = sync::build_report(&*store, &account, period, now)
        .await
        .map_err(|e| anyhow::anyhow!("cannot build the report: {e}"))?;
    let format = match args.format {
        ReportFormat::Table => Format::Table,
        ReportFormat::Json => Format::Json,
        ReportFormat::Csv => Format::Csv,
        ReportFormat::Html => Format::Html,
    };
    let mut subject = ReportSubject::from(&account);
    let (stories, conversations) =
        sync::webhooks::report_lines(&*store, &account, period.start(), period.end(), now).await?;
    subject.stories = Some(stories);
    subject.conversations = Some(conversations);
    let text = if args.csv_raw {
        render_csv_raw(&report, &subject)
    } else {
        render(&report, &subject, format)
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, text.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote {} ({} bytes)", path.display(), text.len());
        }
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth reporting.
            let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
        }
    }
    Ok(ExitCode::SUCCESS)
}
