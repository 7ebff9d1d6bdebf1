//! The Store contract, proved once for every implementation: each test below runs against SQLite
//! (`sqlite::<name>`) and against PostgreSQL (`postgres::<name>`, in a schema of its own; skipped
//! with the reason printed when `DAGU_AUTH_TEST_POSTGRES_URL` is unset).
//!
//! A `Backend` can open a second store on the same database, the way a second host would.

mod pg;

use std::sync::{Arc, Barrier};
use std::thread;

use dagu_auth::Error;
use dagu_auth::error::msg;
use dagu_auth::model::{
    ApiKeyRecord, Attribution, AuditEntry, AuditField, AuditQuery, Role, Surfaces, UserRecord,
    WorkspaceAccess, fold_username,
};
use dagu_auth::store::{Session, SqliteStore, Store, UpdateEffects};
use dagu_auth_abi::DaguAuthSurface as Surface;

pub struct Backend {
    pub store: Arc<dyn Store>,
    another: Box<dyn Fn() -> Arc<dyn Store> + Send + Sync>,
}

impl Backend {
    /// A second store on the same database, as another host (or process) would open it.
    fn another(&self) -> Arc<dyn Store> {
        (self.another)()
    }
}

fn sqlite(test: fn(&Backend)) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().to_path_buf();
    let open = move || -> Arc<dyn Store> { Arc::new(SqliteStore::open(&path).expect("open")) };
    test(&Backend {
        store: open(),
        another: Box::new(open),
    });
}

#[cfg(feature = "postgres")]
fn postgres(test: fn(&Backend)) {
    use dagu_auth::config::PostgresConfig;
    use dagu_auth::store::PostgresStore;
    let Some(schema) = pg::schema() else { return };
    let url = schema.url.clone();
    let open = move || -> Arc<dyn Store> {
        Arc::new(PostgresStore::open(&PostgresConfig::new(url.clone())).expect("open"))
    };
    test(&Backend {
        store: open(),
        another: Box::new(open),
    });
    drop(schema);
}

#[cfg(not(feature = "postgres"))]
fn postgres(_: fn(&Backend)) {
    pg::schema();
}

/// Generates `sqlite::<name>` and `postgres::<name>` for each contract test.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::sqlite(super::$name) })*
        }
        mod postgres {
            $(#[test] fn $name() { super::postgres(super::$name) })*
        }
    };
}

conformance!(
    a_second_first_user_is_refused,
    concurrent_first_users_from_two_stores_make_exactly_one,
    usernames_are_unique_ignoring_case,
    a_rename_to_a_taken_username_changes_nothing,
    the_last_enabled_admin_cannot_be_disabled_demoted_or_deleted,
    concurrent_demotions_from_two_stores_leave_an_enabled_admin,
    revoking_on_update_ends_every_session_of_the_user,
    deleting_a_user_takes_their_sessions_and_keeps_their_keys,
    users_are_listed_by_folded_username,
    a_walk_visits_every_user_once_in_list_order,
    a_walk_sees_the_users_of_its_start,
    a_walk_of_an_empty_store_visits_no_one,
    an_error_from_the_visitor_ends_the_walk_and_is_returned,
    pages_follow_the_keyset_in_list_order,
    expired_sessions_are_swept_and_live_ones_kept,
    a_session_and_its_audit_entry_are_written_together_or_not_at_all,
    a_sign_in_is_written_only_while_its_user_is_enabled_with_the_password_checked,
    api_key_names_are_unique,
    the_key_limit_refuses_one_more_key,
    concurrent_key_creation_from_two_stores_respects_the_limit,
    a_key_keeps_its_surfaces_and_attribution_whoever_its_owner,
    keys_are_found_by_digest_and_listed_by_name,
    a_key_rename_to_a_taken_name_is_refused,
    touching_a_key_keeps_its_latest_use,
    deleting_a_missing_key_is_not_found,
    an_audit_entry_reads_back_with_every_field,
    audit_pages_run_newest_first_without_overlap,
    audit_entries_of_one_millisecond_run_in_insertion_order,
    audit_filters_narrow_the_page,
    every_audit_filter_matches_exactly_its_field,
    the_audit_total_counts_every_match_before_offset_and_limit,
    an_unfiltered_time_window_counts_exactly_whatever_share_of_the_trail_it_holds,
    audit_pruning_removes_at_most_a_batch_of_old_entries,
    audit_totals_are_exact_for_every_filter_and_window_across_hours,
    audit_totals_stay_exact_after_pruning_part_of_an_hour,
    concurrent_audit_appends_are_all_recorded_and_counted,
    entries_read_alike_before_and_after_the_store_indexes_them,
    two_stores_appending_at_once_lose_and_repeat_nothing,
    the_change_counter_moves_when_another_store_revokes,
    a_session_keeps_where_it_was_signed_in_from,
    a_users_sessions_are_listed_and_ended_all_but_the_kept_one,
    ending_a_users_sessions_elsewhere_moves_the_change_counter,
    touching_a_session_keeps_its_latest_use_and_idle_ones_are_swept,
    an_idle_sweep_that_ends_sessions_moves_this_stores_change_counter,
);

const HASH: &str = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA";

fn user(id: &str, name: &str, role: Role) -> UserRecord {
    UserRecord {
        sso: None,
        id: id.into(),
        username: name.into(),
        role,
        workspace_access: WorkspaceAccess::all(),
        password_hash: HASH.into(),
        disabled: false,
        created_at_ms: 1,
        updated_at_ms: 1,
        mfa: Default::default(),
    }
}

fn key(id: &str, name: &str, owner: Option<&str>) -> ApiKeyRecord {
    ApiKeyRecord {
        id: id.into(),
        name: name.into(),
        description: String::new(),
        role: Role::Viewer,
        workspace_access: WorkspaceAccess::all(),
        key_prefix: "dagu_abc".into(),
        digest: format!("digest-{id}"),
        created_at_ms: 1,
        updated_at_ms: 1,
        created_by: "a".into(),
        last_used_at_ms: None,
        expires_at_ms: None,
        allowed_surfaces: Surfaces::ALL,
        attribution: match owner {
            Some(owner) => Attribution::UserOwned {
                owner_user_id: owner.into(),
                owner_username: format!("{owner}-name"),
            },
            None => Attribution::ServiceAccount {
                name: name.into(),
                migrated: false,
            },
        },
    }
}

fn session(jti: &str, user_id: &str, expires_at_ms: i64) -> Session {
    Session {
        jti: jti.into(),
        user_id: user_id.into(),
        created_at_ms: 1,
        expires_at_ms,
        last_used_at_ms: 1,
        client_ip: "10.0.0.7".into(),
        user_agent: "Mozilla/5.0 (X11; Linux x86_64)".into(),
    }
}

fn event(at_ms: i64, action: &str, user_id: &str) -> AuditEntry {
    AuditEntry {
        id: format!("id-{at_ms}-{action}-{user_id}"),
        at_ms,
        category: "user".into(),
        action: action.into(),
        user_id: user_id.into(),
        username: format!("name-{user_id}"),
        source: "rest".into(),
        surface: "rest_api".into(),
        result: "succeeded".into(),
        resource_type: "user".into(),
        resource_id: "t".into(),
        credential_type: "jwt".into(),
        details: format!(r#"{{"n":{at_ms}}}"#),
        ip_address: "10.0.0.1".into(),
        ..AuditEntry::default()
    }
}

fn all_entries(store: &dyn Store) -> Vec<AuditEntry> {
    let query = AuditQuery {
        limit: 1000,
        ..AuditQuery::default()
    };
    store.list_audit(&query).expect("audit").entries
}

/// An admin "a" exists.
fn with_admin(store: &dyn Store) {
    assert!(
        store
            .insert_first_user(&user("a", "alice", Role::Admin))
            .expect("first user")
    );
}

fn disable(store: &dyn Store, id: &str) -> Result<UserRecord, Error> {
    store.update_user(id, &mut |u| {
        u.disabled = true;
        Ok(UpdateEffects {
            revoke_sessions: true,
        })
    })
}

fn a_second_first_user_is_refused(b: &Backend) {
    with_admin(b.store.as_ref());
    let second = b.store.insert_first_user(&user("b", "bob", Role::Admin));
    assert_eq!(second, Ok(false));
    assert_eq!(b.store.user_count(), Ok(1));
}

fn concurrent_first_users_from_two_stores_make_exactly_one(b: &Backend) {
    let stores = [Arc::clone(&b.store), b.another()];
    let barrier = Arc::new(Barrier::new(8));
    let winners: usize = thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let store = Arc::clone(&stores[i % 2]);
                let barrier = Arc::clone(&barrier);
                scope.spawn(move || {
                    barrier.wait();
                    let admin = user(&format!("u{i}"), &format!("admin{i}"), Role::Admin);
                    store
                        .insert_first_user(&admin)
                        .expect("no error, only a refusal")
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| usize::from(h.join().expect("thread")))
            .sum()
    });
    assert_eq!(winners, 1);
    assert_eq!(b.store.user_count(), Ok(1));
}

fn usernames_are_unique_ignoring_case(b: &Backend) {
    with_admin(b.store.as_ref());
    let clash = b.store.insert_user(&user("b", "ALICE", Role::Viewer));
    assert_eq!(clash, Err(Error::AlreadyExists(msg::USERNAME_TAKEN.into())));
    let found = b.store.user_by_username("Alice").expect("read");
    assert_eq!(found.map(|u| u.id), Some("a".to_string()));
}

fn a_rename_to_a_taken_username_changes_nothing(b: &Backend) {
    with_admin(b.store.as_ref());
    b.store
        .insert_user(&user("b", "bob", Role::Viewer))
        .expect("bob");
    let renamed = b.store.update_user("b", &mut |u| {
        u.username = "Alice".into();
        u.role = Role::Admin;
        Ok(UpdateEffects::default())
    });
    assert_eq!(
        renamed,
        Err(Error::AlreadyExists(msg::USERNAME_TAKEN.into()))
    );
    let bob = b.store.user_by_id("b").expect("read").expect("bob");
    assert_eq!((bob.username.as_str(), bob.role), ("bob", Role::Viewer));
}

fn the_last_enabled_admin_cannot_be_disabled_demoted_or_deleted(b: &Backend) {
    with_admin(b.store.as_ref());
    let last = Err(Error::Conflict(msg::LAST_ADMIN.into()));
    assert_eq!(disable(b.store.as_ref(), "a").map(|_| ()), last);
    let demote = b.store.update_user("a", &mut |u| {
        u.role = Role::Viewer;
        Ok(UpdateEffects::default())
    });
    assert_eq!(demote.map(|_| ()), last);
    assert_eq!(b.store.delete_user("a", &mut |_| Ok(())), last);
    let alice = b.store.user_by_id("a").expect("read").expect("alice");
    assert!(
        alice.is_enabled_admin(),
        "refusals leave the admin as it was"
    );
}

fn concurrent_demotions_from_two_stores_leave_an_enabled_admin(b: &Backend) {
    let other = b.another();
    with_admin(b.store.as_ref());
    for round in 0..5 {
        let second = format!("b{round}");
        b.store
            .insert_user(&user(&second, &format!("bob{round}"), Role::Admin))
            .expect("second admin");
        let barrier = Barrier::new(2);
        let (first, other_result) = thread::scope(|scope| {
            let one = scope.spawn(|| {
                barrier.wait();
                disable(b.store.as_ref(), "a").is_ok()
            });
            let two = scope.spawn(|| {
                barrier.wait();
                disable(other.as_ref(), &second).is_ok()
            });
            (one.join().expect("thread"), two.join().expect("thread"))
        });
        assert!(
            !(first && other_result),
            "round {round}: both admins were disabled"
        );
        let admins = b
            .store
            .list_users()
            .expect("list")
            .into_iter()
            .filter(|u| u.is_enabled_admin())
            .count();
        assert_eq!(admins, 1, "round {round}");
        // Back to one enabled admin "a" for the next round.
        b.store
            .update_user("a", &mut |u| {
                u.disabled = false;
                Ok(UpdateEffects::default())
            })
            .expect("re-enable a");
        b.store
            .delete_user(&second, &mut |_| Ok(()))
            .expect("remove the second admin");
    }
}

fn revoking_on_update_ends_every_session_of_the_user(b: &Backend) {
    with_admin(b.store.as_ref());
    b.store
        .insert_user(&user("b", "bob", Role::Viewer))
        .expect("bob");
    for jti in ["j1", "j2"] {
        b.store
            .insert_session(&session(jti, "b", i64::MAX))
            .expect("session");
    }
    b.store
        .insert_session(&session("j3", "a", i64::MAX))
        .expect("session");
    disable(b.store.as_ref(), "b").expect("disable bob");
    assert_eq!(b.store.session("j1"), Ok(None));
    assert_eq!(b.store.session("j2"), Ok(None));
    assert!(
        b.store.session("j3").expect("read").is_some(),
        "others keep theirs"
    );
}

/// As in Dagu, a user's API keys outlive the user (the Engine refuses them from then on).
fn deleting_a_user_takes_their_sessions_and_keeps_their_keys(b: &Backend) {
    with_admin(b.store.as_ref());
    b.store
        .insert_user(&user("b", "bob", Role::Viewer))
        .expect("bob");
    b.store
        .insert_session(&session("j1", "b", i64::MAX))
        .expect("session");
    b.store
        .insert_api_key(&key("k1", "bobs", Some("b")), None)
        .expect("key");
    b.store
        .delete_user("b", &mut |_| Ok(()))
        .expect("delete bob");
    assert_eq!(b.store.session("j1"), Ok(None));
    assert_eq!(
        b.store.api_key_by_id("k1"),
        Ok(Some(key("k1", "bobs", Some("b"))))
    );
    assert_eq!(b.store.user_by_id("b"), Ok(None));
}

fn users_are_listed_by_folded_username(b: &Backend) {
    with_admin(b.store.as_ref());
    for (id, name) in [
        ("c", "Carol"),
        ("b", "bob"),
        ("d", "dave_2"),
        ("e", "dave-1"),
    ] {
        b.store
            .insert_user(&user(id, name, Role::Viewer))
            .expect("user");
    }
    let names: Vec<String> = b
        .store
        .list_users()
        .expect("list")
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, ["alice", "bob", "Carol", "dave-1", "dave_2"]);
}

/// More users than one round trip of a store's walk carries (PostgreSQL fetches 1,000 at a time),
/// with names whose folded order differs from their byte order.
const MANY: usize = 1_100;

/// The admin "alice", then `MANY` more; returns every username in list order.
fn with_many_users(store: &dyn Store) -> Vec<String> {
    with_admin(store);
    let mut names = vec!["alice".to_string()];
    for i in 0..MANY {
        let name = match i % 2 {
            0 => format!("User{i:04}"),
            _ => format!("user{i:04}"),
        };
        store
            .insert_user(&user(&format!("id{i:04}"), &name, Role::Viewer))
            .expect("user");
        names.push(name);
    }
    names
}

/// Names the first difference rather than printing a thousand names.
fn assert_same_names(got: &[String], expected: &[String]) {
    let first_difference = got.iter().zip(expected).position(|(g, e)| g != e);
    assert!(
        first_difference.is_none() && got.len() == expected.len(),
        "{} names against {} expected; first difference at {first_difference:?}: {:?} for {:?}",
        got.len(),
        expected.len(),
        first_difference.map(|i| &got[i]),
        first_difference.map(|i| &expected[i]),
    );
}

fn walked(store: &dyn Store) -> Vec<String> {
    let mut names = Vec::new();
    store
        .for_each_user(&mut |u| {
            names.push(u.username);
            Ok(())
        })
        .expect("walk");
    names
}

fn a_walk_visits_every_user_once_in_list_order(b: &Backend) {
    let expected = with_many_users(b.store.as_ref());
    assert_same_names(&walked(b.store.as_ref()), &expected);
}

fn a_walk_sees_the_users_of_its_start(b: &Backend) {
    let expected = with_many_users(b.store.as_ref());
    let other = b.another();
    let mut seen = Vec::new();
    b.store
        .for_each_user(&mut |u| {
            if seen.is_empty() {
                // Each change would show later in the walk if the walk saw it.
                let late = user("late", "zzz-late", Role::Viewer);
                other.insert_user(&late).expect("insert elsewhere");
                other
                    .delete_user("id1099", &mut |_| Ok(()))
                    .expect("delete elsewhere");
                other
                    .update_user("id0500", &mut |u| {
                        u.username = "zzz-renamed".into();
                        Ok(UpdateEffects::default())
                    })
                    .expect("rename elsewhere");
            }
            seen.push(u.username);
            Ok(())
        })
        .expect("walk");
    assert_same_names(&seen, &expected);
    let now = walked(b.store.as_ref());
    assert_eq!(now.len(), expected.len());
    assert_eq!(now[now.len() - 2..], ["zzz-late", "zzz-renamed"]);
}

fn a_walk_of_an_empty_store_visits_no_one(b: &Backend) {
    let mut visits = 0;
    let walk = b.store.for_each_user(&mut |_| {
        visits += 1;
        Ok(())
    });
    assert_eq!((walk, visits), (Ok(()), 0));
    assert_eq!(b.store.list_users(), Ok(Vec::new()));
}

fn an_error_from_the_visitor_ends_the_walk_and_is_returned(b: &Backend) {
    let expected = with_many_users(b.store.as_ref());
    let stop = Error::Conflict("enough".into());
    let mut visits = 0;
    let walk = b.store.for_each_user(&mut |_| {
        visits += 1;
        match visits {
            2 => Err(stop.clone()),
            _ => Ok(()),
        }
    });
    assert_eq!((walk, visits), (Err(stop), 2));
    // The walk's connection and transaction are gone: reads and writes carry on.
    b.store
        .insert_user(&user("after", "after", Role::Viewer))
        .expect("write after the walk");
    assert_eq!(walked(b.store.as_ref()).len(), expected.len() + 1);
}

fn pages_follow_the_keyset_in_list_order(b: &Backend) {
    let expected = with_many_users(b.store.as_ref());
    let mut paged = Vec::new();
    let mut after: Option<(String, String)> = None;
    loop {
        let key = after
            .as_ref()
            .map(|(name, id)| (name.as_str(), id.as_str()));
        let page = b.store.list_users_page(key, 300).expect("page");
        assert!(page.len() <= 300);
        let Some(last) = page.last() else { break };
        after = Some((fold_username(&last.username), last.id.clone()));
        paged.extend(page.into_iter().map(|u| u.username));
    }
    assert_same_names(&paged, &expected);
}

fn a_session_and_its_audit_entry_are_written_together_or_not_at_all(b: &Backend) {
    with_admin(b.store.as_ref());
    let login = event(5, "login", "a");
    assert_eq!(
        b.store
            .insert_sign_in(&session("j1", "a", i64::MAX), &login, HASH)
            .ok(),
        Some(true)
    );
    // The same session id again fails, and must take its audit entry down with it.
    assert!(
        b.store
            .insert_sign_in(&session("j1", "a", i64::MAX), &event(6, "login", "a"), HASH)
            .is_err()
    );
    assert!(b.store.session("j1").expect("read").is_some());
    let logins: Vec<i64> = all_entries(b.store.as_ref())
        .iter()
        .filter(|e| e.action == "login")
        .map(|e| e.at_ms)
        .collect();
    assert_eq!(logins, vec![5]);
}

/// A sign-in checked its password against a hash read before hashing; whatever changed the
/// account meanwhile must win.
fn a_sign_in_is_written_only_while_its_user_is_enabled_with_the_password_checked(b: &Backend) {
    with_admin(b.store.as_ref());
    b.store
        .insert_user(&user("b", "bob", Role::Viewer))
        .expect("bob");
    let sign_in = |jti: &str, hash: &str| {
        let entry = event(5, "login", "b");
        b.store
            .insert_sign_in(&session(jti, "b", i64::MAX), &entry, hash)
            .expect("the sign-in's transaction")
    };
    assert!(!sign_in(
        "old-password",
        "$argon2id$v=19$m=64,t=1,p=1$b2xkc2FsdA$b2xk"
    ));
    assert!(sign_in("same-password", HASH));
    disable(b.store.as_ref(), "b").expect("disable bob");
    assert!(!sign_in("disabled", HASH));
    b.store
        .delete_user("b", &mut |_| Ok(()))
        .expect("delete bob");
    assert!(!sign_in("deleted", HASH));
    for refused in ["old-password", "disabled", "deleted"] {
        assert_eq!(b.store.session(refused).expect("read"), None);
    }
    let logins = all_entries(b.store.as_ref())
        .iter()
        .filter(|e| e.action == "login")
        .count();
    assert_eq!(logins, 1, "only the written sign-in is audited");
}

fn expired_sessions_are_swept_and_live_ones_kept(b: &Backend) {
    with_admin(b.store.as_ref());
    b.store
        .insert_session(&session("old", "a", 100))
        .expect("old");
    b.store
        .insert_session(&session("live", "a", 300))
        .expect("live");
    assert_eq!(b.store.delete_expired_sessions(200), Ok(1));
    assert_eq!(b.store.session("old"), Ok(None));
    assert_eq!(
        b.store
            .session("live")
            .expect("read")
            .map(|s| s.expires_at_ms),
        Some(300)
    );
}

fn api_key_names_are_unique(b: &Backend) {
    b.store
        .insert_api_key(&key("k1", "ci", None), None)
        .expect("first");
    let clash = b.store.insert_api_key(&key("k2", "ci", None), None);
    assert_eq!(
        clash,
        Err(Error::AlreadyExists(
            "API key with this name already exists".into()
        ))
    );
}

fn the_key_limit_refuses_one_more_key(b: &Backend) {
    for i in 0..2 {
        b.store
            .insert_api_key(&key(&format!("k{i}"), &format!("key{i}"), None), Some(2))
            .expect("within the limit");
    }
    let third = b.store.insert_api_key(&key("k2", "key2", None), Some(2));
    assert!(
        matches!(&third, Err(Error::Forbidden(m)) if m.starts_with("Community edition supports up to 2 API keys")),
        "{third:?}"
    );
    assert_eq!(b.store.list_api_keys().map(|k| k.len()), Ok(2));
}

fn concurrent_key_creation_from_two_stores_respects_the_limit(b: &Backend) {
    let stores = [Arc::clone(&b.store), b.another()];
    let barrier = Arc::new(Barrier::new(6));
    thread::scope(|scope| {
        for i in 0..6 {
            let store = Arc::clone(&stores[i % 2]);
            let barrier = Arc::clone(&barrier);
            scope.spawn(move || {
                barrier.wait();
                let _ =
                    store.insert_api_key(&key(&format!("k{i}"), &format!("key{i}"), None), Some(2));
            });
        }
    });
    assert_eq!(b.store.list_api_keys().map(|k| k.len()), Ok(2));
}

/// The store keeps what it is given: an owner need not be a user (it may have been deleted),
/// and every surface set and attribution reads back as written, after an update too.
fn a_key_keeps_its_surfaces_and_attribution_whoever_its_owner(b: &Backend) {
    let mut owned = key("k1", "owned", Some("nobody"));
    owned.allowed_surfaces = Surfaces::of(&[Surface::Mcp]);
    b.store.insert_api_key(&owned, None).expect("owned");
    assert_eq!(b.store.api_key_by_id("k1"), Ok(Some(owned.clone())));
    let mut account = key("k2", "account", None);
    account.allowed_surfaces = Surfaces::of(&[Surface::RestApi]);
    b.store.insert_api_key(&account, None).expect("account");
    assert_eq!(b.store.api_key_by_digest("digest-k2"), Ok(Some(account)));
    let migrated = Attribution::ServiceAccount {
        name: "legacy".into(),
        migrated: true,
    };
    let updated = b.store.update_api_key("k1", &mut |k| {
        k.attribution = migrated.clone();
        k.allowed_surfaces = Surfaces::ALL;
        Ok(())
    });
    owned.attribution = migrated;
    owned.allowed_surfaces = Surfaces::ALL;
    assert_eq!(updated, Ok(owned.clone()));
    assert_eq!(b.store.api_key_by_id("k1"), Ok(Some(owned)));
}

fn keys_are_found_by_digest_and_listed_by_name(b: &Backend) {
    for (id, name) in [("k1", "zeta"), ("k2", "Alpha"), ("k3", "beta")] {
        b.store
            .insert_api_key(&key(id, name, None), None)
            .expect("key");
    }
    let found = b.store.api_key_by_digest("digest-k3").expect("read");
    assert_eq!(found.map(|k| k.name), Some("beta".to_string()));
    let names: Vec<String> = b
        .store
        .list_api_keys()
        .expect("list")
        .into_iter()
        .map(|k| k.name)
        .collect();
    assert_eq!(
        names,
        ["Alpha", "beta", "zeta"],
        "byte order, as SQLite sorts"
    );
}

fn a_key_rename_to_a_taken_name_is_refused(b: &Backend) {
    b.store
        .insert_api_key(&key("k1", "one", None), None)
        .expect("one");
    b.store
        .insert_api_key(&key("k2", "two", None), None)
        .expect("two");
    let renamed = b.store.update_api_key("k2", &mut |k| {
        k.name = "one".into();
        Ok(())
    });
    assert_eq!(
        renamed.map(|k| k.name),
        Err(Error::AlreadyExists(
            "API key with this name already exists".into()
        ))
    );
}

fn touching_a_key_keeps_its_latest_use(b: &Backend) {
    b.store
        .insert_api_key(&key("k1", "one", None), None)
        .expect("one");
    let uses = [("k1".to_string(), 500), ("k1".to_string(), 300)];
    b.store.touch_api_keys(&uses).expect("touch");
    b.store
        .touch_api_keys(&[("k1".into(), 400)])
        .expect("touch");
    let used = b
        .store
        .api_key_by_id("k1")
        .expect("read")
        .and_then(|k| k.last_used_at_ms);
    assert_eq!(used, Some(500));
}

fn deleting_a_missing_key_is_not_found(b: &Backend) {
    assert_eq!(
        b.store.delete_api_key("nope"),
        Err(Error::NotFound(msg::API_KEY_NOT_FOUND.into()))
    );
}

fn an_audit_entry_reads_back_with_every_field(b: &Backend) {
    let mut entry = event(7, "dag_execute", "u1");
    let fields = [
        &mut entry.correlation_id,
        &mut entry.workspace,
        &mut entry.credential_id,
        &mut entry.mcp_tool,
    ];
    for (field, value) in fields.into_iter().zip(["c1", "ops", "k1", "run_dag"]) {
        *field = value.into();
    }
    b.store.append_audit(&entry).expect("append");
    let found = all_entries(b.store.as_ref());
    let [stored] = found.as_slice() else {
        panic!("one entry: {found:?}")
    };
    assert!(stored.seq > 0, "the store numbers entries");
    assert_eq!(
        stored,
        &AuditEntry {
            seq: stored.seq,
            ..entry
        }
    );
}

fn audit_pages_run_newest_first_without_overlap(b: &Backend) {
    for at in 1..=5 {
        b.store
            .append_audit(&event(at, "login", "a"))
            .expect("append");
    }
    let mut query = AuditQuery {
        limit: 2,
        ..AuditQuery::default()
    };
    let mut seen = Vec::new();
    loop {
        let page = b.store.list_audit(&query).expect("page");
        assert_eq!(page.total, 5, "the total ignores the cursor");
        let Some(last) = page.entries.last() else {
            break;
        };
        query.before = Some((last.at_ms, last.seq));
        seen.extend(page.entries.iter().map(|e| e.at_ms));
    }
    assert_eq!(seen, [5, 4, 3, 2, 1]);
}

fn audit_entries_of_one_millisecond_run_in_insertion_order(b: &Backend) {
    for action in ["first", "second", "third"] {
        b.store
            .append_audit(&event(9, action, "a"))
            .expect("append");
    }
    let mut query = AuditQuery {
        limit: 1,
        ..AuditQuery::default()
    };
    let mut seen = Vec::new();
    while let Some(last) = b.store.list_audit(&query).expect("page").entries.pop() {
        query.before = Some((last.at_ms, last.seq));
        seen.push(last.action);
    }
    assert_eq!(seen, ["third", "second", "first"]);
}

fn audit_filters_narrow_the_page(b: &Backend) {
    for (at, action, user) in [
        (10, "login", "a"),
        (20, "login", "b"),
        (30, "logout", "a"),
        (40, "login", "a"),
        (50, "login", "a"),
    ] {
        b.store
            .append_audit(&event(at, action, user))
            .expect("append");
    }
    let found = |start_ms, end_ms| -> Vec<i64> {
        let query = AuditQuery {
            filters: vec![
                (AuditField::UserId, "a".into()),
                (AuditField::Action, "login".into()),
            ],
            start_ms,
            end_ms,
            limit: 10,
            ..AuditQuery::default()
        };
        let listing = b.store.list_audit(&query).expect("list");
        assert_eq!(listing.total, listing.entries.len() as u64);
        listing.entries.iter().map(|e| e.at_ms).collect()
    };
    // Both bounds are inclusive.
    assert_eq!(found(Some(10), Some(40)), [40, 10]);
    assert_eq!(found(Some(11), Some(39)), Vec::<i64>::new());
    assert_eq!(found(None, Some(10)), [10]);
    assert_eq!(found(Some(41), None), [50]);
}

/// One entry per field with a value of its own there: filtering on a field finds exactly it, and
/// a value no entry has finds nothing.
fn every_audit_filter_matches_exactly_its_field(b: &Backend) {
    let mut entries = Vec::new();
    for (n, field) in AuditField::ALL.iter().copied().enumerate() {
        let mut entry = event(n as i64 + 1, "login", "plain");
        let value = match field {
            AuditField::Category => &mut entry.category,
            AuditField::Action => &mut entry.action,
            AuditField::Source => &mut entry.source,
            AuditField::Surface => &mut entry.surface,
            AuditField::Result => &mut entry.result,
            AuditField::CorrelationId => &mut entry.correlation_id,
            AuditField::ResourceType => &mut entry.resource_type,
            AuditField::ResourceId => &mut entry.resource_id,
            AuditField::Workspace => &mut entry.workspace,
            AuditField::CredentialId => &mut entry.credential_id,
            AuditField::CredentialType => &mut entry.credential_type,
            AuditField::McpTool => &mut entry.mcp_tool,
            AuditField::IpAddress => &mut entry.ip_address,
            AuditField::UserId => &mut entry.user_id,
        };
        *value = format!("only-{}", field.param());
        b.store.append_audit(&entry).expect("append");
        entries.push(entry);
    }
    for (field, entry) in AuditField::ALL.iter().copied().zip(&entries) {
        let query = |value: &str| AuditQuery {
            filters: vec![(field, value.to_string())],
            limit: 100,
            ..AuditQuery::default()
        };
        let wanted = format!("only-{}", field.param());
        let listing = b.store.list_audit(&query(&wanted)).expect("list");
        let ids: Vec<&str> = listing.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(
            (ids, listing.total),
            (vec![entry.id.as_str()], 1),
            "{field:?}"
        );
        let none = b.store.list_audit(&query("no-such-value")).expect("list");
        assert_eq!(none.total, 0, "{field:?}");
    }
    // Filters combine: each must hold.
    let both = AuditQuery {
        filters: vec![
            (AuditField::UserId, "plain".into()),
            (AuditField::Result, "only-result".into()),
        ],
        limit: 100,
        ..AuditQuery::default()
    };
    assert_eq!(b.store.list_audit(&both).expect("list").total, 1);
}

fn the_audit_total_counts_every_match_before_offset_and_limit(b: &Backend) {
    for at in 1..=7 {
        let user = if at % 2 == 0 { "even" } else { "odd" };
        b.store
            .append_audit(&event(at, "login", user))
            .expect("append");
    }
    let page = |offset, limit| {
        let query = AuditQuery {
            filters: vec![(AuditField::UserId, "odd".into())],
            offset,
            limit,
            ..AuditQuery::default()
        };
        let listing = b.store.list_audit(&query).expect("list");
        let times: Vec<i64> = listing.entries.iter().map(|e| e.at_ms).collect();
        (times, listing.total)
    };
    assert_eq!(page(0, 2), (vec![7, 5], 4));
    assert_eq!(page(2, 2), (vec![3, 1], 4));
    assert_eq!(page(4, 2), (vec![], 4));
}

/// The window's total is exact whether it holds a few entries or most of them (SQLite counts
/// the latter as everything less what lies outside).
fn an_unfiltered_time_window_counts_exactly_whatever_share_of_the_trail_it_holds(b: &Backend) {
    for at in 1..=10 {
        b.store
            .append_audit(&event(at, "login", "a"))
            .expect("append");
    }
    let total = |start_ms, end_ms| {
        let query = AuditQuery {
            start_ms,
            end_ms,
            limit: 3,
            ..AuditQuery::default()
        };
        b.store.list_audit(&query).expect("list").total
    };
    assert_eq!(total(None, None), 10);
    assert_eq!(total(Some(2), None), 9);
    assert_eq!(total(Some(2), Some(9)), 8);
    assert_eq!(total(None, Some(9)), 9);
    assert_eq!(total(Some(9), None), 2);
    assert_eq!(total(Some(4), Some(4)), 1);
    assert_eq!(total(Some(11), None), 0);
    assert_eq!(total(Some(8), Some(3)), 0);
}

fn audit_pruning_removes_at_most_a_batch_of_old_entries(b: &Backend) {
    for at in 1..=5 {
        b.store
            .append_audit(&event(at, "login", "a"))
            .expect("append");
    }
    assert_eq!(b.store.prune_audit(5, 3), Ok(3));
    assert_eq!(b.store.prune_audit(5, 3), Ok(1));
    let left: Vec<i64> = all_entries(b.store.as_ref())
        .iter()
        .map(|e| e.at_ms)
        .collect();
    assert_eq!(left, [5]);
}

const HOUR_MS: i64 = 3_600_000;
/// Not on an hour: the trail's first entry lies inside its hour.
const TRAIL_START: i64 = 500_000 * HOUR_MS + 1_234;

/// 150 entries 83 s apart (about three and a half hours) of several kinds.
fn varied_trail() -> Vec<AuditEntry> {
    varied_trail_of(150)
}

fn varied_trail_of(count: i64) -> Vec<AuditEntry> {
    (0..count)
        .map(|n| {
            let (category, action) = match n % 5 {
                0 | 1 => ("user", "login"),
                2 => ("dag", "dag_execute"),
                3 => ("dag", "dag_update"),
                _ => ("mcp", "mcp.tool_call"),
            };
            let mcp = category == "mcp";
            AuditEntry {
                id: format!("v{n}"),
                at_ms: TRAIL_START + n * 83_000,
                category: category.into(),
                action: action.into(),
                user_id: format!("u{}", n % 4),
                username: format!("user{}", n % 4),
                source: if mcp { "mcp" } else { "rest" }.into(),
                surface: if mcp { "mcp" } else { "rest_api" }.into(),
                result: if n % 7 == 0 { "failed" } else { "succeeded" }.into(),
                resource_type: category.into(),
                resource_id: format!("r{}", n % 6),
                credential_type: if n % 3 == 0 { "api_key" } else { "jwt" }.into(),
                mcp_tool: if mcp {
                    format!("tool{}", n % 2)
                } else {
                    String::new()
                },
                ip_address: format!("10.0.0.{}", n % 3),
                ..AuditEntry::default()
            }
        })
        .collect()
}

fn field_of(entry: &AuditEntry, field: AuditField) -> &str {
    match field {
        AuditField::Category => &entry.category,
        AuditField::Action => &entry.action,
        AuditField::Source => &entry.source,
        AuditField::Surface => &entry.surface,
        AuditField::Result => &entry.result,
        AuditField::CorrelationId => &entry.correlation_id,
        AuditField::ResourceType => &entry.resource_type,
        AuditField::ResourceId => &entry.resource_id,
        AuditField::Workspace => &entry.workspace,
        AuditField::CredentialId => &entry.credential_id,
        AuditField::CredentialType => &entry.credential_type,
        AuditField::McpTool => &entry.mcp_tool,
        AuditField::IpAddress => &entry.ip_address,
        AuditField::UserId => &entry.user_id,
    }
}

/// Filter sets: none, each counted field alone, counted fields together, and uncounted ones (on
/// their own and beside a counted one).
fn filter_sets() -> Vec<Vec<(AuditField, String)>> {
    let sets: [&[(AuditField, &str)]; 12] = [
        &[],
        &[(AuditField::Category, "user")],
        &[
            (AuditField::Category, "dag"),
            (AuditField::Action, "dag_update"),
        ],
        &[(AuditField::Action, "login")],
        &[(AuditField::Result, "failed")],
        &[(AuditField::Source, "mcp"), (AuditField::Surface, "mcp")],
        &[(AuditField::McpTool, "tool1")],
        &[
            (AuditField::CredentialType, "api_key"),
            (AuditField::ResourceType, "dag"),
        ],
        &[(AuditField::IpAddress, "10.0.0.2")],
        &[(AuditField::Category, "user"), (AuditField::UserId, "u1")],
        &[
            (AuditField::ResourceId, "r3"),
            (AuditField::Result, "succeeded"),
        ],
        &[(AuditField::Category, "nothing-like-it")],
    ];
    sets.iter()
        .map(|set| set.iter().map(|(f, v)| (*f, v.to_string())).collect())
        .collect()
}

/// Windows that start and end inside hours, on their edges, cover no whole hour, or are open.
fn windows() -> Vec<(Option<i64>, Option<i64>)> {
    let hour = |n: i64| (TRAIL_START / HOUR_MS + n) * HOUR_MS;
    vec![
        (None, None),
        (Some(TRAIL_START + 600_000), None),
        (None, Some(hour(2) + 1_000_000)),
        (Some(TRAIL_START + 1), Some(hour(3) + 5)),
        (Some(hour(1)), Some(hour(3) - 1)),
        (Some(hour(1) + 1), Some(hour(2) - 1)),
        (Some(hour(1) + 100_000), Some(hour(2) + 200_000)),
        (Some(hour(9)), None),
        (Some(hour(3)), Some(hour(1))),
    ]
}

/// Every filter set over every window: the store's total equals the entries counted one by one.
fn assert_totals_match(store: &dyn Store, trail: &[AuditEntry]) {
    for filters in filter_sets() {
        for (start_ms, end_ms) in windows() {
            let expected = trail
                .iter()
                .filter(|e| start_ms.is_none_or(|s| e.at_ms >= s))
                .filter(|e| end_ms.is_none_or(|end| e.at_ms <= end))
                .filter(|e| filters.iter().all(|(f, v)| field_of(e, *f) == v))
                .count() as u64;
            let query = AuditQuery {
                filters: filters.clone(),
                start_ms,
                end_ms,
                limit: 1,
                ..AuditQuery::default()
            };
            let listing = store.list_audit(&query).expect("list");
            assert_eq!(
                listing.total, expected,
                "filters {filters:?}, window {start_ms:?}..={end_ms:?}"
            );
            assert_eq!(listing.entries.len() as u64, expected.min(1));
        }
    }
}

fn audit_totals_are_exact_for_every_filter_and_window_across_hours(b: &Backend) {
    let trail = varied_trail();
    for entry in &trail {
        b.store.append_audit(entry).expect("append");
    }
    assert_totals_match(b.store.as_ref(), &trail);
}

fn audit_totals_stay_exact_after_pruning_part_of_an_hour(b: &Backend) {
    let trail = varied_trail();
    for entry in &trail {
        b.store.append_audit(entry).expect("append");
    }
    // Up to the middle of the second hour, 7 entries at a time: batches end inside hours.
    let cutoff = (TRAIL_START / HOUR_MS + 1) * HOUR_MS + 1_500_000;
    while b.store.prune_audit(cutoff, 7).expect("prune") > 0 {}
    let left: Vec<AuditEntry> = trail.into_iter().filter(|e| e.at_ms >= cutoff).collect();
    assert_totals_match(b.store.as_ref(), &left);
}

/// Enough entries that SQLite has moved most of them out of the unindexed table where new entries
/// land (`audit_recent`) and kept the newest there: pages by cursor and by offset cross the two
/// tables in order, totals count both, and pruning reaches both.
fn entries_read_alike_before_and_after_the_store_indexes_them(b: &Backend) {
    let trail = varied_trail_of(300);
    for entry in &trail {
        b.store.append_audit(entry).expect("append");
    }
    let newest_first: Vec<String> = trail.iter().rev().map(|e| e.id.clone()).collect();
    let mut query = AuditQuery {
        limit: 7,
        ..AuditQuery::default()
    };
    let mut walked = Vec::new();
    loop {
        let page = b.store.list_audit(&query).expect("page").entries;
        let Some(last) = page.last() else { break };
        query.before = Some((last.at_ms, last.seq));
        walked.extend(page.into_iter().map(|e| e.id));
    }
    assert_eq!(walked, newest_first, "by cursor");
    for offset in [0u64, 30, 40, 100, 170, 295] {
        let query = AuditQuery {
            limit: 10,
            offset,
            ..AuditQuery::default()
        };
        let ids: Vec<String> = b
            .store
            .list_audit(&query)
            .expect("page")
            .entries
            .into_iter()
            .map(|e| e.id)
            .collect();
        let end = (offset as usize + 10).min(newest_first.len());
        assert_eq!(ids, newest_first[offset as usize..end], "offset {offset}");
    }
    assert_totals_match(b.store.as_ref(), &trail);
    // A cutoff among the newest entries: every older one goes, from either table.
    let cutoff = trail[280].at_ms;
    while b.store.prune_audit(cutoff, 50).expect("prune") > 0 {}
    let left: Vec<AuditEntry> = trail.into_iter().filter(|e| e.at_ms >= cutoff).collect();
    assert_eq!(all_entries(b.store.as_ref()).len(), left.len());
    assert_totals_match(b.store.as_ref(), &left);
}

/// Two stores on one database (two hosts, or two processes on one SQLite file) append at once,
/// each moving entries into the indexed table on its own count: every entry is listed exactly
/// once, in one order both stores agree on, and counted once.
fn two_stores_appending_at_once_lose_and_repeat_nothing(b: &Backend) {
    let trail = varied_trail_of(400);
    let stores = [b.store.clone(), b.another()];
    let start = Arc::new(Barrier::new(stores.len()));
    let workers: Vec<_> = stores
        .iter()
        .enumerate()
        .map(|(s, store)| {
            let (store, start) = (store.clone(), start.clone());
            let mine: Vec<AuditEntry> = trail.iter().skip(s).step_by(2).cloned().collect();
            thread::spawn(move || {
                start.wait();
                for entry in &mine {
                    store.append_audit(entry).expect("append");
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("worker");
    }
    let listed = all_entries(b.store.as_ref());
    let mut ids: Vec<&str> = listed.iter().map(|e| e.id.as_str()).collect();
    ids.sort();
    let mut expected: Vec<&str> = trail.iter().map(|e| e.id.as_str()).collect();
    expected.sort();
    assert_eq!(ids, expected, "every entry once");
    let seqs: std::collections::HashSet<i64> = listed.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs.len(),
        listed.len(),
        "no two entries share a place in the order"
    );
    let other: Vec<String> = all_entries(stores[1].as_ref())
        .into_iter()
        .map(|e| e.id)
        .collect();
    let this: Vec<String> = listed.into_iter().map(|e| e.id).collect();
    assert_eq!(this, other, "both stores list the same order");
    assert_totals_match(b.store.as_ref(), &trail);
}

/// Appends from many threads at once (SQLite writes those that wait together in one
/// transaction): every one is acknowledged, listed once and counted once.
fn concurrent_audit_appends_are_all_recorded_and_counted(b: &Backend) {
    const THREADS: usize = 8;
    const EACH: usize = 25;
    let trail = varied_trail();
    let start = Arc::new(Barrier::new(THREADS));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (store, start) = (b.store.clone(), start.clone());
            let mine: Vec<AuditEntry> = trail
                .iter()
                .skip(t)
                .step_by(THREADS)
                .take(EACH)
                .cloned()
                .collect();
            thread::spawn(move || {
                start.wait();
                for entry in &mine {
                    store.append_audit(entry).expect("append");
                }
                mine
            })
        })
        .collect();
    let mut written: Vec<AuditEntry> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("worker"))
        .collect();
    written.sort_by_key(|e| e.at_ms);
    let mut listed: Vec<String> = all_entries(b.store.as_ref())
        .into_iter()
        .map(|e| e.id)
        .collect();
    listed.sort();
    let mut expected: Vec<String> = written.iter().map(|e| e.id.clone()).collect();
    expected.sort();
    assert_eq!(listed, expected);
    assert_totals_match(b.store.as_ref(), &written);
}

fn the_change_counter_moves_when_another_store_revokes(b: &Backend) {
    with_admin(b.store.as_ref());
    b.store
        .insert_session(&session("j1", "a", i64::MAX))
        .expect("session");
    let other = b.another();
    let before = b.store.change_counter().expect("counter");
    assert!(other.delete_session("j1").expect("logout elsewhere"));
    assert_ne!(b.store.change_counter(), Ok(before));
}

fn a_session_keeps_where_it_was_signed_in_from(b: &Backend) {
    with_admin(b.store.as_ref());
    let written = session("j1", "a", i64::MAX);
    b.store.insert_session(&written).expect("session");
    assert_eq!(b.store.session("j1"), Ok(Some(written)));
}

fn a_users_sessions_are_listed_and_ended_all_but_the_kept_one(b: &Backend) {
    with_admin(b.store.as_ref());
    b.store
        .insert_user(&user("b", "bob", Role::Viewer))
        .expect("bob");
    for (jti, owner) in [("j1", "a"), ("j2", "a"), ("j3", "a"), ("k1", "b")] {
        b.store
            .insert_session(&session(jti, owner, i64::MAX))
            .expect("session");
    }
    let listed = |id: &str| -> Vec<String> {
        let sessions = b.store.sessions_of_user(id).expect("list");
        sessions.into_iter().map(|s| s.jti).collect()
    };
    assert_eq!(listed("a"), ["j1", "j2", "j3"]);
    assert_eq!(b.store.delete_sessions_of_user("a", Some("j2")), Ok(2));
    assert_eq!(listed("a"), ["j2"]);
    assert_eq!(listed("b"), ["k1"], "another user's sessions stay");
    assert_eq!(b.store.delete_sessions_of_user("a", None), Ok(1));
    assert!(listed("a").is_empty());
}

fn ending_a_users_sessions_elsewhere_moves_the_change_counter(b: &Backend) {
    with_admin(b.store.as_ref());
    b.store
        .insert_session(&session("j1", "a", i64::MAX))
        .expect("session");
    let other = b.another();
    let before = b.store.change_counter().expect("counter");
    assert_eq!(other.delete_sessions_of_user("a", None), Ok(1));
    assert_ne!(b.store.change_counter(), Ok(before));
}

fn touching_a_session_keeps_its_latest_use_and_idle_ones_are_swept(b: &Backend) {
    with_admin(b.store.as_ref());
    for jti in ["busy", "idle"] {
        b.store
            .insert_session(&session(jti, "a", i64::MAX))
            .expect("session");
    }
    let uses = [("busy".to_string(), 500), ("busy".to_string(), 400)];
    b.store.touch_sessions(&uses).expect("touch");
    let last_used = |jti: &str| b.store.session(jti).map(|s| s.map(|s| s.last_used_at_ms));
    assert_eq!(
        last_used("busy"),
        Ok(Some(500)),
        "a late batch never moves it back"
    );
    assert_eq!(b.store.delete_idle_sessions(450), Ok(1));
    assert_eq!(last_used("idle"), Ok(None));
    assert_eq!(last_used("busy"), Ok(Some(500)));
}

/// The idle sweep runs on the maintenance thread, after no Engine call that would drop what the
/// Engine caches; a session it ended may still be cached by this very process. The store's own
/// change counter must therefore move, as it does for another process's writes.
fn an_idle_sweep_that_ends_sessions_moves_this_stores_change_counter(b: &Backend) {
    with_admin(b.store.as_ref());
    b.store
        .insert_session(&session("idle", "a", i64::MAX))
        .expect("session");
    let before = b.store.change_counter().expect("counter");
    assert_eq!(b.store.delete_idle_sessions(0), Ok(0));
    assert_eq!(
        b.store.change_counter(),
        Ok(before),
        "a sweep that ends nothing moves nothing"
    );
    assert_eq!(b.store.delete_idle_sessions(450), Ok(1));
    assert_ne!(b.store.change_counter(), Ok(before));
}

/// What only a shared server has: failure counts, migrations by several hosts, lost connections.
#[cfg(feature = "postgres")]
mod postgres_only {
    use std::sync::Arc;
    use std::thread;

    use dagu_auth::Error;
    use dagu_auth::config::PostgresConfig;
    use dagu_auth::store::{LimitScope, PostgresStore, Store};

    use crate::pg;

    fn open(url: &str) -> Result<PostgresStore, Error> {
        PostgresStore::open(&PostgresConfig::new(url))
    }

    #[test]
    fn failed_sign_ins_recorded_through_one_host_count_on_another() {
        let Some(schema) = pg::schema() else { return };
        let (a, b) = (open(&schema.url).expect("a"), open(&schema.url).expect("b"));
        let log_a = a.shared_login_failures().expect("a shared log");
        let log_b = b.shared_login_failures().expect("a shared log");
        let keys = [(LimitScope::Account, "alice"), (LimitScope::Ip, "10.0.0.1")];
        for at in [100, 200, 300] {
            log_a.record_login_failure(&keys, at, 0).expect("record");
        }
        assert_eq!(
            log_b.recent_login_failures(LimitScope::Account, "alice", 100, 10),
            Ok(vec![200, 300]),
            "later than the window start, oldest first"
        );
        assert_eq!(
            log_b.recent_login_failures(LimitScope::Ip, "10.0.0.1", 0, 2),
            Ok(vec![200, 300]),
            "the newest `max`"
        );
        log_b
            .clear_login_failures(LimitScope::Account, "alice")
            .expect("clear");
        assert_eq!(
            log_a.recent_login_failures(LimitScope::Account, "alice", 0, 10),
            Ok(vec![])
        );
        assert_eq!(
            log_a.recent_login_failures(LimitScope::Ip, "10.0.0.1", 0, 10),
            Ok(vec![100, 200, 300]),
            "clearing an account leaves the address's count"
        );
    }

    #[test]
    fn failures_older_than_every_window_are_forgotten() {
        let Some(schema) = pg::schema() else { return };
        let store = open(&schema.url).expect("open");
        let log = store.shared_login_failures().expect("shared log");
        log.record_login_failure(&[(LimitScope::Account, "old")], 100, 0)
            .expect("record");
        log.record_login_failure(&[(LimitScope::Account, "new")], 1_000, 500)
            .expect("record");
        assert_eq!(
            log.recent_login_failures(LimitScope::Account, "old", 0, 10),
            Ok(vec![])
        );
    }

    #[test]
    fn hosts_starting_together_migrate_once() {
        let Some(schema) = pg::schema() else { return };
        let opened: Vec<bool> = thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| open(&schema.url).is_ok()))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .collect()
        });
        assert_eq!(opened, [true; 4]);
    }

    #[test]
    fn a_database_with_a_newer_schema_is_refused() {
        let Some(schema) = pg::schema() else { return };
        drop(open(&schema.url).expect("create the schema"));
        schema.execute("UPDATE dagu_auth_schema SET version = 99");
        let refused = open(&schema.url).err();
        assert!(
            matches!(&refused, Some(Error::Storage(m)) if m.contains("schema version 99, newer")),
            "{refused:?}"
        );
    }

    #[test]
    fn a_version_1_database_gains_the_list_order_index_and_keeps_its_users() {
        let Some(schema) = pg::schema() else { return };
        // Built as version 1 was (later steps add tables, so a newer schema cannot be rewound).
        let steps = include_str!("fixtures/schema_v2_postgres.sql");
        let (version_1, _) = steps.split_once("-- step 1 -> 2").expect("two steps");
        schema.execute(version_1);
        schema.execute(
            "CREATE TABLE dagu_auth_schema (id INTEGER PRIMARY KEY CHECK (id = 1), \
             version INTEGER NOT NULL); INSERT INTO dagu_auth_schema VALUES (1, 1); \
             INSERT INTO users (id, username, username_folded, role, workspace_access, \
             password_hash, created_at, updated_at) \
             VALUES ('a', 'admin', 'admin', 'admin', '{\"all\":true,\"grants\":[]}', 'x', 1, 1);",
        );
        let store = open(&schema.url).expect("migrate from version 1");
        assert_eq!(store.user_count(), Ok(1));
        let mut client = postgres::Client::connect(&schema.url, postgres::NoTls).expect("connect");
        let found = client
            .query_one(
                "SELECT (SELECT version FROM dagu_auth_schema), \
                 (SELECT COUNT(*) FROM pg_indexes \
                  WHERE schemaname = current_schema() AND indexname = 'users_in_list_order')",
                &[],
            )
            .expect("read the schema");
        let (version, indexes): (i32, i64) = (found.get(0), found.get(1));
        assert!(version >= 2, "version {version}");
        assert_eq!(indexes, 1);
    }

    /// A reset commits its new hash and its deletion of the user's sessions together. A sign-in
    /// checked against the old hash must not slip a session in between them.
    #[test]
    fn a_sign_in_waits_for_a_reset_being_committed_and_then_writes_nothing() {
        let Some(schema) = pg::schema() else { return };
        let store = open(&schema.url).expect("open");
        super::with_admin(&store);
        store
            .insert_user(&super::user("b", "bob", super::Role::Viewer))
            .expect("bob");
        let mut reset = postgres::Client::connect(&schema.url, postgres::NoTls).expect("connect");
        reset
            .batch_execute(
                "BEGIN; UPDATE users SET password_hash = 'new' WHERE id = 'b'; \
                 DELETE FROM sessions WHERE user_id = 'b';",
            )
            .expect("a reset, not yet committed");
        let committed = std::sync::atomic::AtomicBool::new(false);
        let written = thread::scope(|scope| {
            let sign_in = scope.spawn(|| {
                let entry = super::event(5, "login", "b");
                let written = store.insert_sign_in(
                    &super::session("during-reset", "b", i64::MAX),
                    &entry,
                    super::HASH,
                );
                (written, committed.load(std::sync::atomic::Ordering::SeqCst))
            });
            thread::sleep(std::time::Duration::from_millis(300));
            committed.store(true, std::sync::atomic::Ordering::SeqCst);
            reset.batch_execute("COMMIT").expect("the reset commits");
            sign_in.join().expect("sign-in thread")
        });
        assert_eq!(
            written,
            (Ok(false), true),
            "the sign-in answered only after the reset committed, and wrote nothing"
        );
        assert_eq!(store.session("during-reset"), Ok(None));
    }

    #[test]
    fn a_terminated_connection_is_replaced_without_a_restart() {
        let Some(schema) = pg::schema() else { return };
        let name = format!("recovery_{}", schema.name);
        let store = open(&schema.url_with(&format!("application_name={name}"))).expect("open");
        store.user_count().expect("a pooled connection exists");
        assert!(
            schema.terminate(&name) >= 1,
            "the pooled connection was ended"
        );
        assert_eq!(
            store.user_count(),
            Ok(0),
            "a read goes through on a fresh connection"
        );
        assert!(schema.terminate(&name) >= 1);
        store
            .append_audit(&super::event(1, "login", "a"))
            .expect("so does a write");
    }

    #[test]
    fn an_unreachable_server_is_unavailable_until_it_returns() {
        let Some(schema) = pg::schema() else { return };
        let relay = pg::Relay::to(&schema.url);
        let store = Arc::new(open(&relay.url(&schema.url)).expect("open through the relay"));
        relay.cut();
        let during = store.user_count();
        assert!(
            matches!(&during, Err(Error::Unavailable(m)) if m.contains("unreachable")),
            "{during:?}"
        );
        relay.restore();
        assert_eq!(store.user_count(), Ok(0), "recovered without reopening");
    }

    #[test]
    fn an_unreachable_server_at_open_is_a_clear_error() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = closed.local_addr().expect("addr").port();
        drop(closed);
        let refused = open(&format!("postgres://nobody:secret@127.0.0.1:{port}/none")).err();
        assert!(
            matches!(&refused, Some(Error::Unavailable(m)) if m.contains(&format!("127.0.0.1:{port}")) && !m.contains("secret")),
            "{refused:?}"
        );
    }
}
