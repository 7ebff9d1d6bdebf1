//! What the suite starts its hosts with, and the host's demo DAGs as seen over HTTP.

use std::collections::BTreeSet;

use dagu_auth_tests::api::*;
use dagu_auth_tests::{Abi, HostDemo, HostOptions, Response};
use serde_json::json;

/// A fresh host with every option at its default, loading the plugin through `abi`.
pub fn start(abi: Abi) -> HostDemo {
    HostDemo::start(HostOptions::new(abi))
}

/// A host whose first admin is set up; returns the admin's token.
pub fn start_with_admin(abi: Abi) -> (HostDemo, String) {
    let host = start(abi);
    let token = setup_admin(&host);
    (host, token)
}

/// (name, workspace) of the DAGs `token` sees.
pub fn visible_dags(host: &HostDemo, token: &str) -> BTreeSet<(String, Option<String>)> {
    let response = host.get("/api/v1/dags", Some(token));
    response.expect_status(200);
    response.json()["dags"]
        .as_array()
        .unwrap_or_else(|| panic!("GET /dags without a dags array: {}", response.text()))
        .iter()
        .map(|d| {
            (
                d["name"].as_str().expect("name").to_owned(),
                d["workspace"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// The set `visible_dags` answers for these (name, workspace) pairs.
pub fn dag_set(dags: &[(&str, Option<&str>)]) -> BTreeSet<(String, Option<String>)> {
    dags.iter()
        .map(|(n, w)| (n.to_string(), w.map(str::to_owned)))
        .collect()
}

/// A request on one demo DAG by name, as the holder of a token: [`start_dag`] or [`edit_dag`].
pub type DagRequest = fn(&HostDemo, Option<&str>, &str) -> Response;

/// `POST /dags/{name}/start`: needs EXECUTE in the DAG's workspace.
pub fn start_dag(host: &HostDemo, token: Option<&str>, name: &str) -> Response {
    host.post_empty(&format!("/api/v1/dags/{name}/start"), token)
}

/// `PUT /dags/{name}`: needs WRITE in the DAG's workspace.
pub fn edit_dag(host: &HostDemo, token: Option<&str>, name: &str) -> Response {
    host.put(&format!("/api/v1/dags/{name}"), token, &json!({}))
}
