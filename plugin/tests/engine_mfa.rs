//! Two-factor sign-in through the Engine. Every code is made by Debian's `oathtool`, an
//! implementation independent of the plugin's, at the times the manual clock says; without
//! oathtool the tests skip with the reason printed (and fail under `DAGU_AUTH_REQUIRE_ALL=1`).

mod common;

use std::process::Command;

use common::{Fixture, USER_PASSWORD};
use dagu_auth::model::Role;
use dagu_auth::service::AuditRequest;
use dagu_auth::{Engine, Error};

const STEP_MS: i64 = 30_000;

/// The TOTP code of the base32 `secret` at `at_ms`, from oathtool; `None` (after printing why)
/// when oathtool is not installed.
fn oathtool(secret: &str, at_ms: i64) -> Option<String> {
    let output = Command::new("oathtool")
        .args([
            "--totp",
            "-b",
            "--now",
            &format!("@{}", at_ms / 1000),
            secret,
        ])
        .output();
    match output {
        Ok(output) if output.status.success() => {
            Some(String::from_utf8_lossy(&output.stdout).trim().to_string())
        }
        outcome => {
            let reason = format!("oathtool did not run: {outcome:?}");
            if std::env::var("DAGU_AUTH_REQUIRE_ALL").is_ok_and(|v| v == "1") {
                panic!("DAGU_AUTH_REQUIRE_ALL=1 but {reason}");
            }
            eprintln!("skipped: {reason} (apt-get install oathtool)");
            None
        }
    }
}

/// A user `name` of `role` with TOTP set up and confirmed (at START_MS); answers the secret and
/// the recovery codes. The clock is moved one step on, so the confirming code is in the past.
struct Enrolled {
    id: String,
    secret: String,
    recovery_codes: Vec<String>,
}

fn enrol(fx: &Fixture, admin: &str, name: &str, role: &str) -> Option<Enrolled> {
    let (id, token) = fx.user(admin, name, role);
    let setup = fx.engine.start_totp_setup(&token).expect("setup starts");
    assert!(setup.otpauth_url.starts_with("otpauth://totp/Dagu:"));
    assert!(
        setup
            .otpauth_url
            .contains(&format!("secret={}", setup.secret))
    );
    let code = oathtool(&setup.secret, fx.engine_now())?;
    let codes = fx
        .engine
        .confirm_totp(&token, &code)
        .expect("code confirms");
    assert_eq!(codes.recovery_codes.len(), 10);
    fx.clock.advance_ms(STEP_MS);
    Some(Enrolled {
        id,
        secret: setup.secret,
        recovery_codes: codes.recovery_codes,
    })
}

/// A fixture, its admin's token and "ann", a developer with TOTP on; `None` without oathtool.
fn with_ann() -> Option<(Fixture, String, Enrolled)> {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let ann = enrol(&fx, &admin, "ann", "developer")?;
    Some((fx, admin, ann))
}

trait Now {
    fn engine_now(&self) -> i64;
}

impl Now for Fixture {
    fn engine_now(&self) -> i64 {
        use dagu_auth::clock::Clock;
        self.clock.now_ms()
    }
}

/// Signs in with the password; answers the `mfaToken` of the second step.
fn first_step(engine: &Engine, name: &str) -> String {
    match engine.login(name, USER_PASSWORD, "10.0.0.1") {
        Err(Error::MfaRequired { mfa_token }) => mfa_token,
        other => panic!("expected the second step, got {other:?}"),
    }
}

#[test]
fn the_right_password_of_an_enrolled_user_asks_for_a_code_and_issues_no_session() {
    let Some((fx, _, ann)) = with_ann() else {
        return;
    };
    let token = first_step(&fx.engine, "ann");
    let code = oathtool(&ann.secret, fx.engine_now()).expect("oathtool");
    let login = fx
        .engine
        .login_mfa(&token, &code, "10.0.0.1")
        .expect("code signs in");
    assert!(login.user.mfa_enabled());
    let me = serde_json::to_value(fx.engine.principal(&login.token).expect("session works"))
        .expect("json");
    assert_eq!(me["user"]["mfaEnabled"], true);
    assert_eq!(me["user"]["id"], ann.id.as_str());
    // The token of the first step is good once.
    fx.clock.advance_ms(STEP_MS);
    let code = oathtool(&ann.secret, fx.engine_now()).expect("oathtool");
    assert!(matches!(
        fx.engine.login_mfa(&token, &code, "10.0.0.1"),
        Err(Error::Unauthenticated(_))
    ));
}

#[test]
fn a_code_is_never_taken_twice_even_from_a_second_sign_in() {
    let Some((fx, _, ann)) = with_ann() else {
        return;
    };
    let code = oathtool(&ann.secret, fx.engine_now()).expect("oathtool");
    let first = first_step(&fx.engine, "ann");
    fx.engine
        .login_mfa(&first, &code, "10.0.0.1")
        .expect("first use");
    let second = first_step(&fx.engine, "ann");
    assert!(matches!(
        fx.engine.login_mfa(&second, &code, "10.0.0.1"),
        Err(Error::Unauthenticated(_))
    ));
    // Nor the code of the step before, which is inside the window but older than the last used.
    let earlier = oathtool(&ann.secret, fx.engine_now() - STEP_MS).expect("oathtool");
    assert!(fx.engine.login_mfa(&second, &earlier, "10.0.0.1").is_err());
    // Another host on the same store refuses it too: the last used step is in the store.
    let other_host = fx.second_engine();
    let third = first_step(&other_host, "ann");
    assert!(other_host.login_mfa(&third, &code, "10.0.0.1").is_err());
}

#[test]
fn codes_one_step_off_are_taken_and_two_steps_off_are_not() {
    let Some((fx, _, ann)) = with_ann() else {
        return;
    };
    fx.clock.advance_ms(10 * STEP_MS);
    for offset in [-2, 2] {
        let token = first_step(&fx.engine, "ann");
        let code = oathtool(&ann.secret, fx.engine_now() + offset * STEP_MS).expect("oathtool");
        assert!(
            fx.engine.login_mfa(&token, &code, "10.0.0.1").is_err(),
            "a code {offset} steps off must be refused"
        );
    }
    // One step behind first: a later step used first would make the earlier one a replay.
    for offset in [-1, 1] {
        let token = first_step(&fx.engine, "ann");
        let code = oathtool(&ann.secret, fx.engine_now() + offset * STEP_MS).expect("oathtool");
        fx.engine
            .login_mfa(&token, &code, "10.0.0.1")
            .unwrap_or_else(|e| panic!("a code {offset} step off must be taken: {e}"));
    }
}

#[test]
fn wrong_codes_count_against_the_account_limit_and_are_audited() {
    let Some((fx, admin, ann)) = with_ann() else {
        return;
    };
    let token = first_step(&fx.engine, "ann");
    for _ in 0..5 {
        assert!(matches!(
            fx.engine.login_mfa(&token, "000000", "10.0.0.1"),
            Err(Error::Unauthenticated(_))
        ));
    }
    let code = oathtool(&ann.secret, fx.engine_now()).expect("oathtool");
    assert!(matches!(
        fx.engine.login_mfa(&token, &code, "10.0.0.1"),
        Err(Error::RateLimited { .. })
    ));
    // The password step is held back by the same count.
    assert!(matches!(
        fx.engine.login("ann", USER_PASSWORD, "10.0.0.2"),
        Err(Error::RateLimited { .. })
    ));
    let trail = fx
        .engine
        .list_audit(&admin, AuditRequest::default())
        .expect("audit");
    let trail = serde_json::to_string(&trail).expect("json");
    assert!(trail.contains("invalid_mfa_code"));
    fx.clock.advance_ms(10_000);
    let code = oathtool(&ann.secret, fx.engine_now()).expect("oathtool");
    fx.engine
        .login_mfa(&token, &code, "10.0.0.1")
        .expect("after the wait the right code signs in");
}

#[test]
fn a_recovery_code_signs_in_once() {
    let Some((fx, _, ann)) = with_ann() else {
        return;
    };
    let recovery = ann.recovery_codes[3].to_uppercase();
    let token = first_step(&fx.engine, "ann");
    fx.engine
        .login_mfa(&token, &recovery, "10.0.0.1")
        .expect("recovery code signs in");
    let token = first_step(&fx.engine, "ann");
    assert!(fx.engine.login_mfa(&token, &recovery, "10.0.0.1").is_err());
    // The others still work.
    fx.engine
        .login_mfa(&token, &ann.recovery_codes[4], "10.0.0.1")
        .expect("another recovery code signs in");
}

#[test]
fn regenerated_recovery_codes_replace_the_old_ones() {
    let Some((fx, _, ann)) = with_ann() else {
        return;
    };
    let token = first_step(&fx.engine, "ann");
    let session = fx
        .engine
        .login_mfa(&token, &ann.recovery_codes[0], "10.0.0.1")
        .expect("signs in")
        .token;
    let code = oathtool(&ann.secret, fx.engine_now()).expect("oathtool");
    let fresh = fx
        .engine
        .regenerate_recovery_codes(&session, &code)
        .expect("regenerates");
    let token = first_step(&fx.engine, "ann");
    assert!(
        fx.engine
            .login_mfa(&token, &ann.recovery_codes[1], "10.0.0.1")
            .is_err()
    );
    fx.engine
        .login_mfa(&token, &fresh.recovery_codes[0], "10.0.0.1")
        .expect("a new code signs in");
}

#[test]
fn turning_it_off_needs_the_password_and_a_code() {
    let Some((fx, _, ann)) = with_ann() else {
        return;
    };
    let token = first_step(&fx.engine, "ann");
    let session = fx
        .engine
        .login_mfa(&token, &ann.recovery_codes[0], "10.0.0.1")
        .expect("signs in")
        .token;
    let code = oathtool(&ann.secret, fx.engine_now()).expect("oathtool");
    assert!(
        fx.engine
            .disable_totp(&session, "wrong-password", &code)
            .is_err()
    );
    assert!(
        fx.engine
            .disable_totp(&session, USER_PASSWORD, "123456")
            .is_err()
    );
    fx.engine
        .disable_totp(&session, USER_PASSWORD, &code)
        .expect("turns off");
    fx.engine
        .login("ann", USER_PASSWORD, "10.0.0.1")
        .expect("the password alone signs in again");
}

#[test]
fn a_role_that_requires_it_gets_a_session_good_only_for_enrolling() {
    let fx = Fixture::with(|config| config.mfa_required_roles = vec![Role::Admin]);
    let admin = fx.setup_admin();
    assert!(matches!(
        fx.engine.list_users(&admin),
        Err(Error::MfaEnrollmentRequired)
    ));
    assert!(matches!(
        fx.engine
            .authorize(admin.as_str(), dagu_auth_vocab::DaguAuthAction::View, ""),
        Err(Error::MfaEnrollmentRequired)
    ));
    fx.engine
        .principal_during_enrollment(&admin)
        .expect("who am I still answers");
    let setup = fx.engine.start_totp_setup(&admin).expect("setup starts");
    let Some(code) = oathtool(&setup.secret, fx.engine_now()) else {
        return;
    };
    fx.engine.confirm_totp(&admin, &code).expect("confirms");
    fx.engine
        .list_users(&admin)
        .expect("once enrolled, everything is open");
    assert!(
        fx.engine
            .authorize(admin.as_str(), dagu_auth_vocab::DaguAuthAction::View, "")
            .is_ok(),
        "authorize too, from the cache"
    );
    // Other roles are not held.
    let (_, viewer) = fx.user(&admin, "vic", "viewer");
    fx.engine.principal(&viewer).expect("a viewer is not held");
}

#[test]
fn an_admin_reset_turns_it_off_and_ends_the_users_sessions() {
    let Some((fx, admin, ann)) = with_ann() else {
        return;
    };
    let token = first_step(&fx.engine, "ann");
    let session = fx
        .engine
        .login_mfa(&token, &ann.recovery_codes[0], "10.0.0.1")
        .expect("signs in")
        .token;
    assert!(matches!(
        fx.engine.reset_mfa(&session, &ann.id),
        Err(Error::Forbidden(_))
    ));
    fx.engine.reset_mfa(&admin, &ann.id).expect("admin resets");
    assert!(matches!(
        fx.engine.principal(&session),
        Err(Error::Unauthenticated(_))
    ));
    let login = fx
        .engine
        .login("ann", USER_PASSWORD, "10.0.0.1")
        .expect("the password alone signs in");
    assert!(!login.user.mfa_enabled());
    let trail = fx
        .engine
        .list_audit(&admin, AuditRequest::default())
        .expect("audit");
    assert!(
        serde_json::to_string(&trail)
            .expect("json")
            .contains("mfa_reset")
    );
}

#[test]
fn the_secret_is_stored_encrypted() {
    let Some((fx, _, ann)) = with_ann() else {
        return;
    };
    let db = rusqlite::Connection::open(fx.dir.path().join("auth/auth.db")).expect("open db");
    let column: String = db
        .query_row("SELECT mfa FROM users WHERE id = ?1", [&ann.id], |row| {
            row.get(0)
        })
        .expect("mfa column");
    assert!(column.contains("sealedSecret"));
    assert!(!column.contains(&ann.secret));
    for code in &ann.recovery_codes {
        assert!(!column.contains(code.as_str()));
    }
}

/// The user list is kept as rendered JSON until a user changes: turning two-factor on, and an
/// admin's reset, must both show in the next list (`mfaEnabled`).
#[test]
fn enrolling_and_an_admins_reset_show_in_the_next_user_list() {
    let fx = Fixture::new();
    let admin = fx.setup_admin();
    let mfa_of = |fx: &Fixture, name: &str| {
        let (status, list, _) = fx.http("GET", "/api/v1/users?limit=50", Some(&admin), b"");
        assert_eq!(status, 200, "{list}");
        list["users"]
            .as_array()
            .and_then(|users| users.iter().find(|u| u["username"] == name))
            .map(|user| user["mfaEnabled"].clone())
    };
    assert_eq!(mfa_of(&fx, "admin"), Some(serde_json::json!(false)));
    let Some(enrolled) = enrol(&fx, &admin, "mona", "viewer") else {
        return;
    };
    assert_eq!(mfa_of(&fx, "mona"), Some(serde_json::json!(true)));
    fx.engine.reset_mfa(&admin, &enrolled.id).expect("reset");
    assert_eq!(mfa_of(&fx, "mona"), Some(serde_json::json!(false)));
}

/// Six-digit codes that are none of `secret`'s codes one step either side of now.
fn wrong_codes(fx: &Fixture, secret: &str, count: usize) -> Option<Vec<String>> {
    let now = fx.engine_now();
    let mut right = Vec::new();
    for at in [now - STEP_MS, now, now + STEP_MS] {
        right.push(oathtool(secret, at)?);
    }
    let codes = (100_000..)
        .map(|n: u32| n.to_string())
        .filter(|code| !right.contains(code))
        .take(count)
        .collect();
    Some(codes)
}

/// Sends every code at once, from its own thread; answers how many were checked (refused as
/// wrong rather than held back by the limit).
fn checked_in_parallel(
    codes: &[String],
    attempt: impl Fn(&str) -> Result<(), Error> + Sync,
) -> usize {
    let answers = common::at_once(codes.len(), |n| attempt(&codes[n]));
    for answer in &answers {
        assert!(
            matches!(
                answer,
                Err(Error::Unauthenticated(_) | Error::RateLimited { .. })
            ),
            "a wrong code is refused or held back, got {answer:?}"
        );
    }
    answers
        .iter()
        .filter(|answer| matches!(answer, Err(Error::Unauthenticated(_))))
        .count()
}

/// The limit is checked before a code and the failure recorded after it: codes sent all at once
/// must not all pass the check before the first failure is counted.
#[test]
fn wrong_codes_sent_at_once_get_no_more_checks_than_the_account_limit() {
    let Some((fx, _, ann)) = with_ann() else {
        return;
    };
    let codes = wrong_codes(&fx, &ann.secret, 96).expect("oathtool");
    let token = first_step(&fx.engine, "ann");
    let checked = checked_in_parallel(&codes, |code| {
        fx.engine.login_mfa(&token, code, "10.0.0.1").map(|_| ())
    });
    assert!(
        (1..=5).contains(&checked),
        "{checked} of 96 codes sent at once were checked; the account allows 5"
    );

    // The same for a code that confirms a change of the signed-in user's own settings.
    // Past the account's window, so the limit starts from nothing again.
    fx.clock.advance_ms(16 * 60 * 1000);
    let code = oathtool(&ann.secret, fx.engine_now()).expect("oathtool");
    let token = first_step(&fx.engine, "ann");
    let session = fx
        .engine
        .login_mfa(&token, &code, "10.0.0.1")
        .expect("signs in")
        .token;
    let codes = wrong_codes(&fx, &ann.secret, 96).expect("oathtool");
    let checked = checked_in_parallel(&codes, |code| {
        fx.engine
            .regenerate_recovery_codes(&session, code)
            .map(|_| ())
    });
    assert!(
        (1..=5).contains(&checked),
        "{checked} of 96 codes sent at once were checked; the account allows 5"
    );
}

/// The second step finishes a sign-in the password began; once that password is reset, the step
/// has nothing left to finish.
#[test]
fn a_password_reset_voids_the_second_step_the_old_password_began() {
    let Some((fx, admin, ann)) = with_ann() else {
        return;
    };
    let token = first_step(&fx.engine, "ann");
    fx.engine
        .reset_password(&admin, &ann.id, "reset-password-1")
        .expect("reset");
    let code = oathtool(&ann.secret, fx.engine_now()).expect("oathtool");
    assert!(matches!(
        fx.engine.login_mfa(&token, &code, "10.0.0.1"),
        Err(Error::Unauthenticated(_))
    ));
}

/// A two-factor sign-in's session shows its browser in the owner's list, as a one-step one does.
#[test]
fn a_two_factor_session_keeps_the_user_agent_it_was_signed_in_with() {
    let Some((fx, _, ann)) = with_ann() else {
        return;
    };
    let token = first_step(&fx.engine, "ann");
    let code = oathtool(&ann.secret, fx.engine_now()).expect("oathtool");
    let body = serde_json::json!({"mfaToken": token, "code": code}).to_string();
    let headers = [
        ("Content-Type", "application/json"),
        ("User-Agent", "Firefox/140"),
    ];
    let response = fx.http_raw("POST", "/api/v1/auth/login/mfa", &headers, body.as_bytes());
    assert_eq!(response.status, 200);
    let login: serde_json::Value = serde_json::from_slice(&response.body).expect("json");
    let session = login["token"].as_str().expect("token");
    let listed =
        serde_json::to_value(fx.engine.list_sessions(session).expect("sessions")).expect("json");
    assert_eq!(listed["sessions"][0]["current"], true);
    assert_eq!(listed["sessions"][0]["userAgent"], "Firefox/140");
}

/// A second-step token is `<user id>.<secret>`, and user ids are no secret (tokens, the trail).
/// Tokens that only name the user must not hold back that user's own codes.
#[test]
fn tokens_that_only_name_a_user_do_not_hold_back_their_codes() {
    let Some((fx, _, ann)) = with_ann() else {
        return;
    };
    let forged = format!("{}.forged-secret", ann.id);
    let done = std::sync::atomic::AtomicBool::new(false);
    let held_back = std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let answer = fx.engine.login_mfa(&forged, "123456", "192.0.2.9");
                    assert!(matches!(answer, Err(Error::Unauthenticated(_))));
                }
            });
        }
        let mut held_back = 0;
        for _ in 0..20 {
            fx.clock.advance_ms(STEP_MS);
            let token = first_step(&fx.engine, "ann");
            let code = oathtool(&ann.secret, fx.engine_now()).expect("oathtool");
            match fx.engine.login_mfa(&token, &code, "10.0.0.1") {
                Ok(_) => {}
                Err(Error::RateLimited { .. }) => held_back += 1,
                Err(other) => panic!("the owner's right code: {other:?}"),
            }
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        held_back
    });
    assert_eq!(
        held_back, 0,
        "of 20 right codes, {held_back} were held back"
    );
}
