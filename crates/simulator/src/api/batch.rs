//! Batches: `POST /` with `batch=[{"method":"GET","relative_url":"..."}, ...]`, each
//! operation run like a request of its own under the batch's token and version, answered
//! as one array of `{code, headers, body}` items.

use serde_json::{Map, Value, json};

use super::{MAX_IDS, Method, Params, Reply, authenticate, run_op, split_version, usage_headers};
use crate::error::ApiError;
use crate::state::SimState;
use crate::version::ApiVersion;

/// A batch: `POST /` with `batch=[{"method":"GET","relative_url":"..."}, ...]`.
pub(super) fn batch(
    st: &SimState,
    path: &str,
    params: &Params,
    header_token: Option<String>,
    seq: u64,
) -> Reply {
    st.stats().envelope("POST / (batch)");
    let now = st.now();
    let trace = st.trace_id(seq, 0);
    let fail = |e: ApiError, acct: Option<usize>, version: ApiVersion| {
        st.stats().error(e.code);
        Reply {
            status: e.status,
            body: e.body(&trace).to_string(),
            headers: usage_headers(st, acct, version, &trace, Some(e.code)),
        }
    };
    let (version, _, _) = match split_version(st, path, None, now) {
        Ok(v) => v,
        Err(e) => return fail(e, None, st.config.default_version),
    };
    let top_token = params
        .get("access_token")
        .map(str::to_owned)
        .or(header_token);
    let top = match authenticate(st, top_token.as_deref(), params, now) {
        Ok(a) => a,
        Err(e) => return fail(e, None, version),
    };
    let Some(raw) = params.get("batch") else {
        return fail(
            ApiError::param("The parameter batch is required"),
            Some(top.acct),
            version,
        );
    };
    let ops: Vec<Value> = match serde_json::from_str::<Value>(raw) {
        Ok(Value::Array(ops)) => ops,
        _ => {
            return fail(
                ApiError::param("The parameter batch must be a JSON array of operations"),
                Some(top.acct),
                version,
            );
        }
    };
    if ops.is_empty() {
        return fail(
            ApiError::param("The batch must contain at least one operation"),
            Some(top.acct),
            version,
        );
    }
    if ops.len() > MAX_IDS {
        return fail(
            ApiError::param(format!(
                "Too many requests in batch message. Maximum batch size is {MAX_IDS}"
            )),
            Some(top.acct),
            version,
        );
    }
    let include_headers = params.get("include_headers") != Some("false");
    let mut items = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        let op_no = i as u64 + 1;
        let method = op
            .get("method")
            .and_then(Value::as_str)
            .map_or(Method::Get, Method::parse);
        let Some(rel) = op.get("relative_url").and_then(Value::as_str) else {
            let e = ApiError::param("Each batch operation needs a relative_url");
            st.stats().error(e.code);
            items.push(json!({
                "code": e.status,
                "body": e.body(&st.trace_id(seq, op_no)).to_string(),
            }));
            continue;
        };
        let (op_path, op_query) = rel.split_once('?').unwrap_or((rel, ""));
        let mut op_params = Params::parse(op_query);
        if let Some(body) = op.get("body").and_then(Value::as_str) {
            op_params.extend(Params::parse(body));
        }
        let res = run_op(
            st,
            method,
            op_path,
            &op_params,
            Some(top.token.as_str()),
            Some(version),
            seq,
            op_no,
        );
        let mut item = Map::new();
        item.insert("code".into(), Value::from(res.status));
        if include_headers {
            let headers: Vec<Value> =
                std::iter::once(("Content-Type", "text/javascript; charset=UTF-8".to_owned()))
                    .chain(usage_headers(
                        st,
                        res.acct,
                        res.version,
                        &res.trace,
                        res.error_code,
                    ))
                    .map(|(n, v)| json!({ "name": n, "value": v }))
                    .collect();
            item.insert("headers".into(), Value::Array(headers));
        }
        item.insert("body".into(), Value::from(res.body.to_string()));
        items.push(Value::Object(item));
    }
    Reply {
        status: 200,
        body: Value::Array(items).to_string(),
        headers: usage_headers(st, Some(top.acct), version, &trace, None),
    }
}
