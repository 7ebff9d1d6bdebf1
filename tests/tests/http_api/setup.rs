//! First-admin setup: `GET/POST /auth/setup`, and the initial admin the host's configuration
//! creates at start.

use dagu_auth_tests::api::*;
use dagu_auth_tests::{Abi, HostDemo, HostOptions, Response, StartError};
use serde_json::json;

use crate::fixtures::{start, start_with_admin};

/// Starting the host must fail: it exits non-zero during start-up. Returns its output.
#[track_caller]
fn assert_start_fails(options: HostOptions) -> String {
    match HostDemo::try_start(options) {
        Ok(host) => panic!(
            "host-demo started although it should have refused:\n{}",
            host.stop()
        ),
        Err(StartError::Exited { status, output }) => {
            assert!(
                !status.success(),
                "host-demo exited with success:\n{output}"
            );
            output
        }
        Err(error @ StartError::Timeout { .. }) => {
            panic!("host-demo neither started nor exited: {error}")
        }
    }
}

/// Lower case with `_`, `-` and `.` read as spaces.
fn normalised(text: &str) -> String {
    text.to_lowercase().replace(['_', '-', '.'], " ")
}

fn setup_is_required_until_the_first_user_exists(abi: Abi) {
    let host = start(abi);
    let response = host.get("/api/v1/auth/setup", None);
    response.expect_status(200).expect_json_content_type();
    assert_eq!(response.json(), json!({"setupRequired": true}));

    setup_admin(&host);

    let response = host.get("/api/v1/auth/setup", None);
    response.expect_status(200);
    assert_eq!(response.json(), json!({"setupRequired": false}));
}

both_abis!(setup_is_required_until_the_first_user_exists);

fn setup_creates_an_admin_with_all_workspaces_and_signs_in(abi: Abi) {
    let host = start(abi);
    let response = setup(&host, ADMIN_USERNAME, ADMIN_PASSWORD);
    response.expect_status(200).expect_json_content_type();
    let body = response.json();
    assert_login_response(&body);
    let user = &body["user"];
    assert_eq!(user["username"], ADMIN_USERNAME);
    assert_eq!(user["role"], "admin");
    assert_eq!(user["workspaceAccess"], all_workspaces());

    let token = body["token"].as_str().expect("token");
    assert_eq!(me(&host, token)["id"], user["id"]);
    login_token(&host, ADMIN_USERNAME, ADMIN_PASSWORD);
}

both_abis!(setup_creates_an_admin_with_all_workspaces_and_signs_in);

fn setup_is_refused_once_a_user_exists(abi: Abi) {
    let (host, token) = start_with_admin(abi);
    assert_error(
        &setup(&host, "second", OTHER_PASSWORD),
        403,
        "forbidden",
        "Setup has already been completed",
    );
    // Checked before the password: a weak one still gets the 403.
    assert_error(
        &setup(&host, "third", "short"),
        403,
        "forbidden",
        "Setup has already been completed",
    );
    assert_eq!(usernames(&list_users(&host, &token)), [ADMIN_USERNAME]);
}

both_abis!(setup_is_refused_once_a_user_exists);

fn setup_rejects_a_weak_password(abi: Abi) {
    let host = start(abi);
    assert_error_shape(&setup(&host, ADMIN_USERNAME, "short"), 400, "bad_request");
    assert!(setup_required(&host), "a refused setup must create nobody");
}

both_abis!(setup_rejects_a_weak_password);

fn concurrent_setup_creates_exactly_one_admin(abi: Abi) {
    let host = start(abi);
    let responses: Vec<Response> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let client = host.client().clone();
                scope.spawn(move || setup(&client, &format!("admin{i}"), ADMIN_PASSWORD))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    let winners: Vec<&Response> = responses.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1, "exactly one setup wins: {statuses:?}");
    for response in responses.iter().filter(|r| r.status != 200) {
        assert_error(
            response,
            403,
            "forbidden",
            "Setup has already been completed",
        );
    }
    let token = winners[0].json()["token"].as_str().unwrap().to_owned();
    assert_eq!(list_users(&host, &token).len(), 1);
}

both_abis!(concurrent_setup_creates_exactly_one_admin);

fn initial_admin_from_env_is_created_and_can_sign_in(abi: Abi) {
    let host = HostDemo::start(HostOptions::new(abi).initial_admin("boss", OTHER_PASSWORD));
    assert!(!setup_required(&host));
    let response = login(&host, "boss", OTHER_PASSWORD);
    response.expect_status(200);
    let user = response.json()["user"].clone();
    assert_eq!(user["role"], "admin");
    assert_eq!(user["workspaceAccess"], all_workspaces());
    assert_error(
        &setup(&host, ADMIN_USERNAME, ADMIN_PASSWORD),
        403,
        "forbidden",
        "Setup has already been completed",
    );
}

both_abis!(initial_admin_from_env_is_created_and_can_sign_in);

fn initial_admin_needs_both_username_and_password(abi: Abi) {
    let mut only_username = HostOptions::new(abi);
    only_username.initial_admin_username = Some("boss".to_owned());
    let mut only_password = HostOptions::new(abi);
    only_password.initial_admin_password = Some(OTHER_PASSWORD.to_owned());
    for options in [only_username, only_password] {
        let output = assert_start_fails(options);
        assert!(
            normalised(&output).contains("initial admin"),
            "the message should name the initial admin settings:\n{output}"
        );
    }
}

both_abis!(initial_admin_needs_both_username_and_password);

fn initial_admin_with_a_weak_password_stops_startup(abi: Abi) {
    let output = assert_start_fails(HostOptions::new(abi).initial_admin("boss", "short"));
    assert!(
        output.to_lowercase().contains("password"),
        "the message should say the password was refused:\n{output}"
    );
}

both_abis!(initial_admin_with_a_weak_password_stops_startup);

fn initial_admin_is_only_created_when_no_user_exists(abi: Abi) {
    let data = tempfile::tempdir().expect("tempdir");
    let first = HostDemo::start(HostOptions::new(abi).data_dir(data.path()));
    setup_admin(&first);
    first.stop();

    let host = HostDemo::start(
        HostOptions::new(abi)
            .data_dir(data.path())
            .initial_admin("boss", OTHER_PASSWORD),
    );
    assert!(!setup_required(&host));
    assert_invalid_credentials(&login(&host, "boss", OTHER_PASSWORD));
    let token = login_token(&host, ADMIN_USERNAME, ADMIN_PASSWORD);
    assert_eq!(usernames(&list_users(&host, &token)), [ADMIN_USERNAME]);
}

both_abis!(initial_admin_is_only_created_when_no_user_exists);
