//! The host's demo DAGs: host-demo asks the plugin's `authorize` on every request.

use dagu_auth_tests::Abi;
use dagu_auth_tests::api::*;

use crate::fixtures::{DagRequest, dag_set, edit_dag, start_dag, start_with_admin, visible_dags};

fn scoped_user_sees_and_acts_only_in_granted_workspaces(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    let access = scoped(&[("ops", "developer"), ("prod", "operator")]);
    let (_, bob) = create_user_and_login(&host, &token, "bob", "viewer", Some(access));
    let t = Some(bob.as_str());

    // The default workspace uses the top-level role (viewer), so demo-default is visible.
    assert_eq!(
        visible_dags(&host, &bob),
        dag_set(&[
            ("demo-default", None),
            ("demo-ops", Some("ops")),
            ("demo-prod", Some("prod")),
        ])
    );
    let rules: [(DagRequest, &str, u16, &str); 9] = [
        (start_dag, "demo-ops", 202, "developer runs in ops"),
        (edit_dag, "demo-ops", 200, "developer edits in ops"),
        (start_dag, "demo-prod", 202, "operator runs in prod"),
        (edit_dag, "demo-prod", 403, "operator cannot edit"),
        (start_dag, "demo-default", 403, "viewer cannot run"),
        (edit_dag, "demo-default", 403, "viewer cannot edit"),
        (start_dag, "demo-finance", 404, "finance is not visible"),
        (edit_dag, "demo-finance", 404, "finance is not visible"),
        (start_dag, "demo-nope", 404, "no such DAG"),
    ];
    for (request, dag, status, rule) in rules {
        assert_eq!(request(&host, t, dag).status, status, "{rule}");
    }
    assert_error_shape(&start_dag(&host, None, "demo-ops"), 401, "unauthorized");
    assert_error_shape(&host.get("/api/v1/dags", None), 401, "unauthorized");
}

both_abis!(scoped_user_sees_and_acts_only_in_granted_workspaces);

fn an_all_workspace_admin_sees_and_runs_every_dag(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    assert_eq!(
        visible_dags(&host, &token),
        dag_set(&[
            ("demo-default", None),
            ("demo-finance", Some("finance")),
            ("demo-ops", Some("ops")),
            ("demo-prod", Some("prod")),
        ])
    );
    for dag in ["demo-default", "demo-finance", "demo-ops", "demo-prod"] {
        assert_eq!(
            start_dag(&host, Some(&token), dag).status,
            202,
            "start {dag}"
        );
        assert_eq!(edit_dag(&host, Some(&token), dag).status, 200, "edit {dag}");
    }
    assert_eq!(start_dag(&host, Some(&token), "demo-nope").status, 404);
}

both_abis!(an_all_workspace_admin_sees_and_runs_every_dag);
