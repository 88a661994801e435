//! The competitors' part of the OpenAPI document: `/api/v1/competitors…` and the
//! `Competitor` schema.

use serde_json::{Value, json};

use super::{error_ref, id_param, int_range, json_response, op, query_param, schema_ref, string};

/// Adds the competitors' operations.
pub(super) fn paths(add: &mut impl FnMut(&str, &str, Value)) {
    add(
        "/api/v1/competitors",
        "get",
        op(
            "competitors",
            "Competitors read through Business Discovery, with their latest counters and the reason of their last failure",
            &[],
            None,
            &[(
                "200",
                json_response("Competitors", schema_ref("CompetitorList")),
            )],
        ),
    );
    add(
        "/api/v1/competitors",
        "post",
        op(
            "competitors",
            "Track a competitor through one of our accounts on Facebook Login (an account on Instagram Login is refused with 409, before any request)",
            &[],
            Some(schema_ref("AddCompetitor")),
            &[
                ("201", json_response("Tracked", schema_ref("Competitor"))),
                ("404", error_ref()),
                ("409", error_ref()),
            ],
        ),
    );
    add(
        "/api/v1/competitors/sync",
        "post",
        op(
            "competitors",
            "Queue a snapshot of every competitor now",
            &[],
            None,
            &[(
                "202",
                json_response("Queued", schema_ref("CompetitorSyncQueued")),
            )],
        ),
    );
    add(
        "/api/v1/competitors/benchmark",
        "get",
        op(
            "competitors",
            "Peer benchmark: where the account ranks among the competitors tracked through it, per figure (1 = best; absent when its value is missing, with the reason)",
            &[
                query_param(
                    "account",
                    string(),
                    true,
                    "The account: igsync id, Instagram user id or @username",
                ),
                query_param(
                    "days",
                    int_range(1, 365),
                    false,
                    "Days before now; default 30",
                ),
            ],
            None,
            &[
                ("200", json_response("Ranks", schema_ref("PeerBenchmark"))),
                ("404", error_ref()),
            ],
        ),
    );
    add(
        "/api/v1/competitors/{id}",
        "delete",
        op(
            "competitors",
            "Stop tracking a competitor and drop its history",
            &[id_param("id", "Competitor id")],
            None,
            &[
                ("204", json!({"description": "Removed"})),
                ("404", error_ref()),
            ],
        ),
    );
}
