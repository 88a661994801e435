//! The document's `components.schemas`, generated from the types the handlers serialize
//! (responses) and deserialize (request bodies) with `schemars`, as JSON Schema 2020-12 (the
//! dialect of OpenAPI 3.1) with `$ref`s into `#/components/schemas/`. The constraints of the
//! request bodies (lengths, patterns, enums) are attributes on those types, from the helpers
//! and constants here; what a handler checks beyond them answers 422.

use schemars::generate::{Contract, SchemaGenerator, SchemaSettings};
use schemars::{JsonSchema, Schema, json_schema};
use serde_json::{Map, Value, json};

use crate::api::accounts::{AccountList, AccountView, AddAccount, SyncRequested, UpdateAccount};
use crate::api::alerts::{Acknowledged, AlertList};
use crate::api::analytics::Glossary;
use crate::api::audit::AuditList;
use crate::api::competitors::{AddBody, Benchmark, CompetitorList, CompetitorView, SyncQueued};
use crate::api::deprecations::DeprecationsView;
use crate::api::jobs::{BulkRequest, BulkResult, JobList, JobView};
use crate::api::keys::{CreateKey, CreatedKey, KeyList};
use crate::api::metrics::SeriesView;
use crate::api::missing::MissingList;
use crate::api::overview::Overview;
use crate::api::queue::{MetricsView, SnapshotView, WorkerList};
use crate::api::runs::{RunDetail, RunList};
use crate::api::schedules::{RunNow, ScheduleList, ScheduleView};
use crate::api::shares::{CreateShare, CreatedShare, ShareList};
use crate::api::usage::UsageReport;
use crate::error::ErrorBody;

/// Characters a text input refuses: the Unicode control characters (`char::is_control`).
pub(crate) const NO_CONTROL_CHARACTERS: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$";

/// A character that `str::trim` keeps: not Unicode white space (the white-space control
/// characters are refused by [`NO_CONTROL_CHARACTERS`] anyway).
pub(crate) const NOT_BLANK: &str =
    "[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";

/// One job state.
pub(crate) const JOB_STATE: &str = "(pending|running|completed|failed|cancelled)";

/// A numeric Instagram user id.
pub(crate) const IG_USER_ID: &str = "^[0-9]{1,32}$";

/// Job states separated by commas (spaces and empty items are ignored; none means every
/// state).
pub(crate) fn job_states_pattern() -> String {
    format!("^[ ,]*(?:{JOB_STATE} *(?:,[ ,]*|$))*$")
}

/// An IANA time zone name: the schema of the API's time zone inputs.
pub(crate) struct TimeZone;

impl JsonSchema for TimeZone {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TimeZone".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
        json_schema!({
            "type": "string",
            "description": "An IANA time zone name, e.g. UTC, Europe/Berlin, America/New_York",
            "enum": names,
        })
    }
}

/// `UpdateAccount.timezone`: a time zone.
pub(crate) fn time_zone(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<TimeZone>()
}

/// The schema of `T`, or null.
fn nullable<T: JsonSchema>(generator: &mut SchemaGenerator) -> Value {
    json!({"oneOf": [generator.subschema_for::<T>(), {"type": "null"}]})
}

/// `BulkRequest.filter`: null, or a [`crate::api::jobs::JobFilter`] that restricts something.
pub(crate) fn bulk_filter(generator: &mut SchemaGenerator) -> Schema {
    let filter = generator.subschema_for::<crate::api::jobs::JobFilter>();
    let not_blank = json!({"type": "string", "pattern": NOT_BLANK});
    let int = json!({"type": "integer"});
    let restricted = json!({
        "allOf": [filter],
        "anyOf": [
            {"required": ["state"], "properties": {"state": {"type": "string", "pattern": JOB_STATE}}},
            {"required": ["queue"], "properties": {"queue": not_blank}},
            {"required": ["kind"], "properties": {"kind": not_blank}},
            {"required": ["account"], "properties": {"account": int}},
            {"required": ["run"], "properties": {"run": int}},
            {"required": ["search"], "properties": {"search": not_blank}},
        ],
    });
    json_schema!({"oneOf": [restricted, {"type": "null"}]})
}

/// `AddAccount.timezone`: a time zone, or null for UTC.
pub(crate) fn optional_time_zone(generator: &mut SchemaGenerator) -> Schema {
    let mut schema = nullable::<TimeZone>(generator);
    schema["description"] = json!("Default UTC");
    Schema::try_from(schema).unwrap_or_default()
}

/// `Job.progress`: where a running sync step stands.
pub(crate) fn job_progress(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "Where a running sync step stands (null for other jobs and before it reports): \
            step `step_number` of `steps_in_plan`, `items_done` of `items_total` `items` (posts, days…)",
        "oneOf": [
            {"type": "null"},
            {"type": "object", "properties": {
                "step": {"type": "string"}, "step_number": {"type": "integer"},
                "steps_in_plan": {"type": "integer"}, "items_done": {"type": "integer"},
                "items_total": {"type": "integer"}, "items": {"type": "string"},
            }},
        ],
    })
}

fn settings(contract: Contract) -> SchemaSettings {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    settings.meta_schema = None;
    settings.contract = contract;
    settings
}

/// Registers `T` under its schema name.
fn register<T: JsonSchema>(generator: &mut SchemaGenerator) {
    let reference = generator.subschema_for::<T>();
    debug_assert!(
        reference.get("$ref").is_some(),
        "{} is not a named schema",
        T::schema_name()
    );
}

/// `components.schemas`: every request and response body of the API, from its type.
pub(crate) fn components() -> Map<String, Value> {
    // Responses as the handlers serialize them: an `Option` is a property that is always
    // there, null when absent.
    let mut out = SchemaGenerator::new(settings(Contract::Serialize));
    register::<ErrorBody>(&mut out);
    register::<crate::Readiness>(&mut out);
    register::<crate::Health>(&mut out);
    register::<crate::webhooks::Received>(&mut out);
    register::<Overview>(&mut out);
    register::<AccountList>(&mut out);
    register::<AccountView>(&mut out);
    register::<SyncRequested>(&mut out);
    register::<crate::report::ReportBody<'static>>(&mut out);
    register::<Glossary>(&mut out);
    register::<JobList>(&mut out);
    register::<JobView>(&mut out);
    register::<BulkResult>(&mut out);
    register::<SnapshotView>(&mut out);
    register::<MetricsView>(&mut out);
    register::<WorkerList>(&mut out);
    register::<ScheduleList>(&mut out);
    register::<ScheduleView>(&mut out);
    register::<RunNow>(&mut out);
    register::<RunList>(&mut out);
    register::<RunDetail>(&mut out);
    register::<SeriesView>(&mut out);
    register::<DeprecationsView>(&mut out);
    register::<MissingList>(&mut out);
    register::<AlertList>(&mut out);
    register::<Acknowledged>(&mut out);
    register::<UsageReport>(&mut out);
    register::<KeyList>(&mut out);
    register::<CreatedKey>(&mut out);
    register::<AuditList>(&mut out);
    register::<CompetitorList>(&mut out);
    register::<CompetitorView>(&mut out);
    register::<SyncQueued>(&mut out);
    register::<Benchmark>(&mut out);
    register::<ShareList>(&mut out);
    register::<CreatedShare>(&mut out);

    // Request bodies as the handlers deserialize them.
    let mut inp = SchemaGenerator::new(settings(Contract::Deserialize));
    register::<AddAccount>(&mut inp);
    register::<UpdateAccount>(&mut inp);
    register::<BulkRequest>(&mut inp);
    register::<CreateKey>(&mut inp);
    register::<AddBody>(&mut inp);
    register::<CreateShare>(&mut inp);

    let mut all = out.take_definitions(true);
    for (name, schema) in inp.take_definitions(true) {
        if let Some(existing) = all.get(&name) {
            assert_eq!(
                existing, &schema,
                "{name} is read and written with different shapes: give one a name of its own"
            );
        }
        all.insert(name, schema);
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::{AccountId, JobId, RunId};

    // Fields holding ids, as the API's types hold them (no doc comment: it would be the
    // schema's description).
    #[derive(JsonSchema)]
    #[schemars(rename = "Fields")]
    #[allow(dead_code)]
    struct Ids {
        /// An account.
        account: AccountId,
        run: Option<RunId>,
        jobs: Vec<JobId>,
    }

    // The same fields as the integers the ids are stored as.
    #[derive(JsonSchema)]
    #[schemars(rename = "Fields")]
    #[allow(dead_code)]
    struct Ints {
        /// An account.
        account: i64,
        run: Option<i64>,
        jobs: Vec<i64>,
    }

    /// An id is documented exactly as the integer it is written as (`integer`, `int64`),
    /// plain, optional or in a list, in answers and in request bodies alike.
    #[test]
    fn ids_are_documented_as_their_integers() {
        for contract in [Contract::Serialize, Contract::Deserialize] {
            let schema_of = |f: fn(&mut SchemaGenerator) -> Schema| {
                f(&mut SchemaGenerator::new(settings(contract.clone())))
            };
            assert_eq!(
                schema_of(|g| g.subschema_for::<AccountId>()),
                json_schema!({"type": "integer", "format": "int64"})
            );
            assert_eq!(
                schema_of(|g| g.subschema_for::<AccountId>()),
                schema_of(|g| g.subschema_for::<i64>())
            );
            assert_eq!(
                schema_of(|g| g.subschema_for::<Option<JobId>>()),
                schema_of(|g| g.subschema_for::<Option<i64>>())
            );
            assert_eq!(
                schema_of(|g| g.subschema_for::<Vec<RunId>>()),
                schema_of(|g| g.subschema_for::<Vec<i64>>())
            );
            assert_eq!(schema_of(Ids::json_schema), schema_of(Ints::json_schema));
        }
    }
}
