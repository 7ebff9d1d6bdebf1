//! `GET /audit` in Dagu's contract (`AuditLogsResponse`, every filter, the time window, limit and
//! offset), and host-demo's own DAG events in the same trail through `dagu_auth_audit_append`.

use dagu_auth_tests::api::*;
use dagu_auth_tests::{Abi, HostDemo};
use serde_json::{Value, json};

use crate::fixtures::{edit_dag, start_dag, start_with_admin};

/// `GET /audit?<query>` as `token`; the answer must be 200.
#[track_caller]
fn audit(host: &HostDemo, token: &str, query: &str) -> Value {
    let response = host.get(&format!("/api/v1/audit?{query}"), Some(token));
    response.expect_status(200);
    response.json()
}

fn entries(page: &Value) -> Vec<Value> {
    page["entries"].as_array().cloned().unwrap_or_default()
}

/// A query-string value: RFC 3339 times carry `:` and `+`.
fn encoded(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An entry's time in milliseconds.
fn millis(entry: &Value) -> i64 {
    let text = entry["timestamp"].as_str().expect("timestamp");
    let seconds = parse_rfc3339(text).expect("RFC 3339");
    let fraction = text
        .split_once('.')
        .map(|(_, f)| f.trim_end_matches('Z'))
        .unwrap_or("");
    let ms: String = fraction.chars().chain("000".chars()).take(3).collect();
    seconds * 1000 + ms.parse::<i64>().expect("milliseconds")
}

/// Every field of Dagu's `AuditEntry` is a string; the required ones are always there.
#[track_caller]
fn assert_entry_shape(entry: &Value) {
    let object = entry.as_object().expect("an entry is an object");
    for required in [
        "id",
        "timestamp",
        "category",
        "action",
        "userId",
        "username",
    ] {
        assert!(object.contains_key(required), "{required} missing: {entry}");
    }
    for (name, value) in object {
        assert!(value.is_string(), "{name} is not a string: {entry}");
    }
    if let Some(details) = entry["details"].as_str() {
        let parsed: Value = serde_json::from_str(details).expect("details hold JSON");
        assert!(parsed.is_object(), "details are an object: {details}");
    }
}

fn an_admin_reads_who_started_and_changed_which_dag(abi: Abi) {
    let (host, admin) = start_with_admin(abi);
    let (bob, bob_token) = create_user_and_login(&host, &admin, "bob", "developer", None);
    start_dag(&host, Some(&bob_token), "demo-ops").expect_status(202);
    edit_dag(&host, Some(&bob_token), "demo-ops").expect_status(200);
    // A refused start is not a start.
    start_dag(&host, None, "demo-ops").expect_status(401);

    let page = audit(&host, &admin, "category=dag");
    assert_eq!(page["total"], 2);
    let [update, start] = entries(&page).try_into().expect("two DAG entries");
    for (entry, action) in [(&start, "dag_execute"), (&update, "dag_update")] {
        assert_entry_shape(entry);
        let expected = json!({
            "id": entry["id"],
            "timestamp": entry["timestamp"],
            "category": "dag",
            "action": action,
            "userId": id_of(&bob),
            "username": "bob",
            "source": "rest",
            "surface": "rest_api",
            "result": "succeeded",
            "resourceType": "dag",
            "resourceId": "demo-ops",
            "workspace": "ops",
            "credentialType": "jwt",
            "details": "{\"dag_name\":\"demo-ops\"}",
            "ipAddress": "127.0.0.1",
        });
        assert_eq!(entry, &expected);
        assert!(is_uuid(entry["id"].as_str().expect("id")));
    }
}

both_abis!(an_admin_reads_who_started_and_changed_which_dag);

/// A trail with every kind of entry host-demo and the plugin write; answers the whole trail,
/// newest first.
fn varied_trail(host: &HostDemo, admin: &str) -> Vec<Value> {
    let (_, bob) = create_user_and_login(host, admin, "bob", "developer", None);
    login(host, "bob", "not-bobs-password").expect_status(401);
    let key = host.post(
        "/api/v1/api-keys",
        Some(admin),
        &json!({"name": "runner", "role": "operator", "allowedSurfaces": ["rest_api"],
                "attributionClass": "service_account"}),
    );
    key.expect_status(201);
    let key = key.json()["key"].as_str().expect("key").to_owned();
    start_dag(host, Some(&key), "demo-prod").expect_status(202);
    let traced = host.send(
        "POST",
        "/api/v1/dags/demo-ops/start",
        &[
            ("Authorization", &format!("Bearer {bob}")),
            ("X-Request-Id", "trace-7"),
        ],
        None,
    );
    traced.expect_status(202);
    edit_dag(host, Some(&bob), "demo-default").expect_status(200);
    let page = audit(host, admin, "limit=500");
    let all = entries(&page);
    assert_eq!(page["total"], all.len());
    all.iter().for_each(assert_entry_shape);
    all
}

fn every_filter_matches_its_field_exactly(abi: Abi) {
    let (host, admin) = start_with_admin(abi);
    let all = varied_trail(&host, &admin);
    let filters = [
        "category",
        "action",
        "source",
        "surface",
        "result",
        "correlationId",
        "resourceType",
        "resourceId",
        "workspace",
        "credentialId",
        "credentialType",
        "mcpTool",
        "ipAddress",
        "userId",
    ];
    for filter in filters {
        let mut values: Vec<&str> = all
            .iter()
            .filter_map(|e| e[filter].as_str())
            .filter(|value| !value.is_empty())
            .collect();
        values.sort_unstable();
        values.dedup();
        for value in values {
            let matching: Vec<&Value> = all.iter().filter(|e| e[filter] == value).collect();
            let page = audit(
                &host,
                &admin,
                &format!("{filter}={}&limit=500", encoded(value)),
            );
            let found = entries(&page);
            assert_eq!(page["total"], matching.len(), "{filter}={value}");
            assert_eq!(
                found.iter().collect::<Vec<_>>(),
                matching,
                "{filter}={value}"
            );
        }
        let none = audit(&host, &admin, &format!("{filter}=no-such-value"));
        assert_eq!(
            (none["total"].clone(), entries(&none)),
            (json!(0), vec![]),
            "{filter}"
        );
        // An empty value filters nothing, as in Dagu.
        assert_eq!(
            audit(&host, &admin, &format!("{filter}="))["total"],
            all.len()
        );
    }
    // The values the trail must hold for the walk above to mean something.
    let has = |filter: &str, value: &str| all.iter().any(|e| e[filter] == value);
    for (filter, value) in [
        ("category", "user"),
        ("category", "api_key"),
        ("category", "dag"),
        ("result", "failed"),
        ("credentialType", "api_key"),
        ("credentialType", "jwt"),
        ("credentialType", "none"),
        ("correlationId", "trace-7"),
        ("workspace", "prod"),
    ] {
        assert!(has(filter, value), "no entry with {filter}={value}");
    }
    // Filters combine.
    let both = audit(&host, &admin, "category=dag&credentialType=jwt");
    assert_eq!(both["total"], 2);
}

both_abis!(every_filter_matches_its_field_exactly);

fn the_time_window_is_inclusive_and_a_bad_time_is_a_400(abi: Abi) {
    let (host, admin) = start_with_admin(abi);
    let all = varied_trail(&host, &admin);
    let middle = &all[all.len() / 2];
    let at = millis(middle);
    let stamp = encoded(middle["timestamp"].as_str().expect("timestamp"));
    let count = |keep: &dyn Fn(i64) -> bool| all.iter().filter(|e| keep(millis(e))).count();
    for (query, expected) in [
        (format!("startTime={stamp}"), count(&|t| t >= at)),
        (format!("endTime={stamp}"), count(&|t| t <= at)),
        (
            format!("startTime={stamp}&endTime={stamp}"),
            count(&|t| t == at),
        ),
    ] {
        let page = audit(&host, &admin, &format!("{query}&limit=500"));
        assert_eq!(page["total"], expected, "{query}");
        assert!(
            entries(&page).iter().any(|e| e["id"] == middle["id"]),
            "{query}"
        );
    }
    // Dagu's UI sends milliseconds and `Z`; a bare date is midnight UTC; an offset is honoured.
    for (start, everything) in [
        ("2000-01-01T00:00:00.000Z", true),
        ("2000-01-01", true),
        ("2000-01-01T09:00:00%2B09:00", true),
        ("2999-01-01", false),
    ] {
        let total = audit(&host, &admin, &format!("startTime={start}"))["total"].clone();
        let expected = if everything { all.len() } else { 0 };
        assert_eq!(total, expected, "{start}");
    }
    for (param, value) in [("startTime", "yesterday"), ("endTime", "2026-13-45")] {
        let response = host.get(&format!("/api/v1/audit?{param}={value}"), Some(&admin));
        assert_error(
            &response,
            400,
            "bad_request",
            &format!(
                "Invalid format for parameter {param}: error parsing '{value}' as RFC3339 or \
                 2006-01-02 time"
            ),
        );
    }
}

both_abis!(the_time_window_is_inclusive_and_a_bad_time_is_a_400);

fn limit_and_offset_page_as_dagu_pages_and_the_total_counts_every_match(abi: Abi) {
    let (host, admin) = start_with_admin(abi);
    let all = varied_trail(&host, &admin);
    let total = all.len();
    let ids =
        |page: &Value| -> Vec<Value> { entries(page).iter().map(|e| e["id"].clone()).collect() };
    let all_ids: Vec<Value> = all.iter().map(|e| e["id"].clone()).collect();
    let page = audit(&host, &admin, "limit=2&offset=1");
    assert_eq!(
        (ids(&page), page["total"].clone()),
        (all_ids[1..3].to_vec(), json!(total))
    );
    // Dagu clamps rather than refusing: below 1 is 50, above 500 is 500; a negative offset is 0.
    for query in ["limit=0", "limit=-4", "limit=100000", "offset=-3", ""] {
        assert_eq!(ids(&audit(&host, &admin, query)), all_ids, "{query}");
    }
    let past_the_end = audit(&host, &admin, &format!("offset={total}"));
    assert_eq!(
        (ids(&past_the_end), past_the_end["total"].clone()),
        (vec![], json!(total))
    );
    // Ours on top: nextCursor continues where the page ended.
    let first = audit(&host, &admin, "limit=3");
    let cursor = first["nextCursor"].as_str().expect("a cursor");
    let next = audit(&host, &admin, &format!("limit=3&cursor={cursor}"));
    assert_eq!(ids(&next), all_ids[3..6].to_vec());
    for (param, value) in [("limit", "ten"), ("offset", "1e3")] {
        let response = host.get(&format!("/api/v1/audit?{param}={value}"), Some(&admin));
        assert_error(
            &response,
            400,
            "bad_request",
            &format!(
                "Invalid format for parameter {param}: error binding string parameter: \
                 strconv.ParseInt: parsing \"{value}\": invalid syntax"
            ),
        );
    }
}

both_abis!(limit_and_offset_page_as_dagu_pages_and_the_total_counts_every_match);

/// The request Dagu's audit page sends on load: the last seven days, 50 at a time, `remoteNode`.
fn dagus_audit_page_request_is_answered(abi: Abi) {
    let (host, admin) = start_with_admin(abi);
    let all = varied_trail(&host, &admin);
    let week_ago = (unix_now() - 7 * 86_400) / 86_400 * 86_400;
    let start = format!("{}T00:00:00.000Z", day(week_ago));
    let query = format!(
        "remoteNode=local&limit=50&offset=0&startTime={}",
        encoded(&start)
    );
    let page = audit(&host, &admin, &query);
    assert_eq!(page["total"], all.len());
    assert_eq!(entries(&page).len(), all.len());
    let csv = host.get("/api/v1/audit?format=csv&category=dag", Some(&admin));
    csv.expect_status(200);
    assert!(
        csv.text()
            .starts_with("id,timestamp,category,action,userId,username,")
    );
    assert_eq!(csv.header("x-total-count"), Some("3"));
}

both_abis!(dagus_audit_page_request_is_answered);

/// `YYYY-MM-DD` of a Unix time (days since 1970, civil calendar).
fn day(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn only_admins_and_managers_read_the_trail(abi: Abi) {
    let (host, admin) = start_with_admin(abi);
    let (_, manager) = create_user_and_login(&host, &admin, "mona", "manager", None);
    let (_, developer) = create_user_and_login(&host, &admin, "dev", "developer", None);
    assert!(audit(&host, &manager, "")["total"].as_u64() > Some(0));
    assert_insufficient_permissions(&host.get("/api/v1/audit", Some(&developer)));
    assert_authentication_required(&host.get("/api/v1/audit?limit=ten", None));
}

both_abis!(only_admins_and_managers_read_the_trail);
