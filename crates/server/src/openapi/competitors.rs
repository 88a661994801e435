//! The competitors' part of the OpenAPI document: `/api/v1/competitors…` and the
//! `Competitor` schema.

use serde_json::{Value, json};

use super::{
    array, datetime, enum_of, error_ref, id_param, int, int_range, json_response, nullable, number,
    obj, op, query_param, schema_ref, string,
};

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
                json_response(
                    "Competitors",
                    obj(&[("competitors", array(schema_ref("Competitor")))]),
                ),
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
            Some(json!({
                "type": "object",
                "required": ["username", "via"],
                "additionalProperties": false,
                "properties": {
                    "username": {"type": "string", "pattern": "^\\s*@?[A-Za-z0-9._]{1,30}\\s*$"},
                    "via": string(),
                },
            })),
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
            &[("202", json_response("Queued", obj(&[("enqueued", int())])))],
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
                (
                    "200",
                    json_response(
                        "Ranks",
                        obj(&[
                            ("account_id", int()),
                            ("days", int()),
                            (
                                "figures",
                                array(obj(&[
                                    ("figure", string()),
                                    ("value", nullable(number())),
                                    ("note", nullable(string())),
                                    ("rank", nullable(int())),
                                    ("of", int()),
                                    ("peer_median", nullable(number())),
                                ])),
                            ),
                        ]),
                    ),
                ),
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

/// The `Competitor` schema.
pub(super) fn schema() -> Value {
    let opt = nullable;
    obj(&[
        ("id", int()),
        ("username", string()),
        ("via_account_id", int()),
        ("ig_user_id", opt(string())),
        ("name", opt(string())),
        ("status", enum_of(&["pending", "ok", "error"])),
        ("followers_count", opt(int())),
        ("follows_count", opt(int())),
        ("media_count", opt(int())),
        ("captured_at", opt(datetime())),
        ("last_reason", opt(string())),
        ("last_error", opt(string())),
        ("last_error_at", opt(datetime())),
    ])
}
