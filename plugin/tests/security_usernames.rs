//! Usernames follow PRECIS (RFC 8265 UsernameCaseMapped: width mapping, NFC, case folding) and
//! refuse format, bidi-control and unassigned characters; two names whose UTS #39 confusable
//! skeletons match cannot both exist. Issue 15's names that read "admin" are the cases.

mod common;

use common::*;
use dagu_auth::Error;
use serde_json::json;

fn create(fx: &Fixture, admin: &str, username: &str) -> Result<String, Error> {
    fx.create_user_json(
        admin,
        json!({"username": username, "password": USER_PASSWORD, "role": "viewer"}),
    )
}

fn listed_names(fx: &Fixture, admin: &str) -> Vec<String> {
    let users = fx.engine.list_users(admin).expect("list");
    users.0.into_iter().map(|user| user.username).collect()
}

#[test]
fn usernames_with_format_or_bidi_control_characters_are_refused_with_a_clear_message() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    for (name, code_point) in [("admin\u{200B}", "U+200B"), ("\u{202E}nimda", "U+202E")] {
        match create(&fx, &admin, name) {
            Err(Error::BadRequest(message)) => {
                assert!(message.contains(code_point), "{name:?}: {message}")
            }
            other => panic!("{name:?}: expected a refusal, got {other:?}"),
        }
    }
    assert!(
        matches!(
            create(&fx, &admin, "bob\u{0378}"),
            Err(Error::BadRequest(_))
        ),
        "unassigned"
    );
    assert_eq!(listed_names(&fx, &admin), ["admin"]);
}

#[test]
fn fullwidth_case_and_nfd_spellings_of_a_name_fold_to_the_same_account() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    assert!(matches!(
        create(&fx, &admin, "ａｄｍｉｎ"),
        Err(Error::AlreadyExists(message)) if message == "Username already exists"
    ));
    create(&fx, &admin, "jos\u{E9}").expect("NFC");
    assert!(
        matches!(
            create(&fx, &admin, "jose\u{301}"),
            Err(Error::AlreadyExists(_))
        ),
        "NFD of the same name"
    );
    create(&fx, &admin, "ＢＯＢ").expect("fullwidth, stored width-mapped");
    assert_eq!(listed_names(&fx, &admin), ["admin", "BOB", "jos\u{E9}"]);
    fx.engine
        .login("ＡＤＭＩＮ", ADMIN_PASSWORD, "")
        .expect("sign-in folds the same way");
    fx.engine
        .login("jose\u{301}", USER_PASSWORD, "")
        .expect("NFD signs into the NFC account");
}

#[test]
fn two_names_whose_confusable_skeletons_match_cannot_both_exist() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    match create(&fx, &admin, "\u{430}dmin") {
        Err(Error::AlreadyExists(message)) => {
            assert!(message.contains("looks the same"), "{message}")
        }
        other => panic!("Cyrillic а beside admin: expected a conflict, got {other:?}"),
    }
    let (bob, _) = fx.user(&admin, "bob", "viewer");
    let rename = patch(json!({"username": "\u{430}dmin"}));
    assert!(
        matches!(
            fx.engine.update_user(&admin, &bob, rename),
            Err(Error::AlreadyExists(_))
        ),
        "a rename is held to the same rule"
    );
    assert_eq!(listed_names(&fx, &admin), ["admin", "bob"]);
}

#[test]
fn a_renamed_user_may_keep_a_name_that_reads_like_their_own() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let (bob, _) = fx.user(&admin, "bob", "viewer");
    fx.engine
        .update_user(&admin, &bob, patch(json!({"username": "Bob"})))
        .expect("only the case changes");
    fx.engine
        .update_user(&admin, &bob, patch(json!({"role": "developer"})))
        .expect("an update without a rename");
}
