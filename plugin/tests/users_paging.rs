//! `GET /users` with `limit` and `cursor`: keyset pages that add up to the full list, which is
//! still what a request without either gets (Dagu-compatible).

mod common;

use common::*;
use serde_json::Value;

fn get(fx: &Fixture, path: &str, token: &str) -> (u16, Value) {
    let (status, body, _) = fx.http("GET", path, Some(token), b"");
    (status, body)
}

fn names(body: &Value) -> Vec<String> {
    body["users"]
        .as_array()
        .map(|users| {
            users
                .iter()
                .filter_map(|u| u["username"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// An admin and users whose names sort differently with and without case folding.
fn populated() -> (Fixture, String) {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    for name in ["Bob", "alice", "Carol", "dave", "Eve"] {
        fx.user(&admin, name, "viewer");
    }
    (fx, admin)
}

#[test]
fn pages_follow_cursors_through_the_full_list_in_order() {
    let (fx, admin) = populated();
    let (status, full) = get(&fx, "/api/v1/users", &admin);
    assert_eq!(status, 200);
    assert!(
        full.get("nextCursor").is_none(),
        "the full list has no cursor"
    );
    let expected = names(&full);
    assert_eq!(expected, ["admin", "alice", "Bob", "Carol", "dave", "Eve"]);

    let mut seen = Vec::new();
    let mut path = "/api/v1/users?limit=4".to_string();
    loop {
        let (status, page) = get(&fx, &path, &admin);
        assert_eq!(status, 200, "{page}");
        let page_names = names(&page);
        assert!(page_names.len() <= 4);
        seen.extend(page_names);
        match page["nextCursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/users?limit=4&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, expected);
}

#[test]
fn an_exact_last_page_carries_no_cursor() {
    let (fx, admin) = populated();
    let (_, page) = get(&fx, "/api/v1/users?limit=6", &admin);
    assert_eq!(names(&page).len(), 6);
    assert!(page.get("nextCursor").is_none());
}

#[test]
fn a_page_after_a_deleted_user_resumes_at_the_next_one() {
    let (fx, admin) = populated();
    let (_, first) = get(&fx, "/api/v1/users?limit=2", &admin);
    assert_eq!(names(&first), ["admin", "alice"]);
    let alice = first["users"][1]["id"].as_str().expect("id").to_string();
    fx.engine.delete_user(&admin, &alice).expect("delete");
    let cursor = first["nextCursor"].as_str().expect("cursor");
    let (_, next) = get(
        &fx,
        &format!("/api/v1/users?limit=2&cursor={cursor}"),
        &admin,
    );
    assert_eq!(names(&next), ["Bob", "Carol"]);
}

#[test]
fn bad_limits_and_cursors_are_bad_requests() {
    let (fx, admin) = populated();
    for query in ["limit=x", "cursor=%%%", "cursor=bm9uZXdsaW5l"] {
        let (status, body) = get(&fx, &format!("/api/v1/users?{query}"), &admin);
        assert_eq!(status, 400, "{query}: {body}");
    }
}

#[test]
fn pages_need_an_admin_like_the_full_list() {
    let (fx, admin) = populated();
    let (_, token) = fx.user(&admin, "frank", "manager");
    let (status, _) = get(&fx, "/api/v1/users?limit=2", &token);
    assert_eq!(status, 403);
    // A bad parameter tells nothing to who may not list users.
    let (status, _) = get(&fx, "/api/v1/users?limit=x", &token);
    assert_eq!(status, 403);
    let (status, _, _) = fx.http("GET", "/api/v1/users?limit=x", None, b"");
    assert_eq!(status, 401);
}

/// Every list, on the engine `engine`, as an admin sees it: the whole list and a page of 50.
fn lists_on(engine: &dagu_auth::Engine, admin: &str) -> (Value, Value) {
    let [whole, page] = ["/api/v1/users", "/api/v1/users?limit=50"].map(|path| {
        let (status, body, _) = http_on(engine, "GET", path, Some(admin), b"");
        assert_eq!(status, 200, "{path}: {body}");
        body
    });
    (whole, page)
}

/// The users as the store has them now, never from a kept list.
fn stored_users(fx: &Fixture, admin: &str) -> Value {
    let users = fx.engine.list_users(admin).expect("records");
    serde_json::to_value(users).expect("json")["users"].clone()
}

/// A named change to make.
type Change<'a> = (&'static str, Box<dyn Fn() + 'a>);

/// Lists are kept once rendered; every kind of change to a user must show in the next list
/// read, whole or paged, or an admin would be shown a user that is gone or a role it no longer
/// has.
#[test]
fn a_kept_list_shows_every_change_to_a_user_on_the_next_read() {
    let (fx, admin) = populated();
    let (bob, _) = fx.user(&admin, "bobby", "viewer");
    let changes: [Change<'_>; 6] = [
        (
            "create",
            Box::new(|| drop(fx.user(&admin, "zed", "operator"))),
        ),
        (
            "role",
            Box::new(|| {
                let role = patch(serde_json::json!({"role": "developer"}));
                fx.engine.update_user(&admin, &bob, role).expect("role");
            }),
        ),
        (
            "rename",
            Box::new(|| {
                let name = patch(serde_json::json!({"username": "robert"}));
                fx.engine.update_user(&admin, &bob, name).expect("rename");
            }),
        ),
        (
            "disable",
            Box::new(|| {
                let off = patch(serde_json::json!({"isDisabled": true}));
                fx.engine.update_user(&admin, &bob, off).expect("disable");
            }),
        ),
        (
            "reset-password",
            Box::new(|| {
                fx.engine
                    .reset_password(&admin, &bob, "a-new-password-1")
                    .expect("reset");
            }),
        ),
        (
            "delete",
            Box::new(|| fx.engine.delete_user(&admin, &bob).expect("delete")),
        ),
    ];
    for (change, apply) in changes {
        let (before, _) = lists_on(&fx.engine, &admin);
        // Each change moves `updatedAt` by a second, so a stale list differs visibly.
        fx.clock.advance_ms(1_000);
        apply();
        let expected = stored_users(&fx, &admin);
        assert_ne!(before["users"], expected, "{change} changed nothing to see");
        let (whole, page) = lists_on(&fx.engine, &admin);
        assert_eq!(whole["users"], expected, "whole list after {change}");
        assert_eq!(page["users"], expected, "page after {change}");
    }
}

/// Another host's change reaches a kept list within the cache's refresh interval, as a
/// revocation does.
#[test]
fn a_kept_list_shows_another_hosts_change_after_the_refresh_interval() {
    let (fx, admin) = populated();
    let other_host = fx.second_engine();
    let (before, _) = lists_on(&other_host, &admin);
    fx.user(&admin, "zed", "viewer");
    fx.clock.advance_ms(1_000);
    let (whole, page) = lists_on(&other_host, &admin);
    let expected = stored_users(&fx, &admin);
    assert_ne!(before["users"], expected);
    assert_eq!(whole["users"], expected);
    assert_eq!(page["users"], expected);
}
