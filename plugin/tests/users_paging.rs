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
}
