//! SSO users in the Engine: found by their identity only, provisioned under the configured rules,
//! re-mapped at every sign-in unless told not to, without a password here, and shown as managed
//! in the user list. The HTTP doors are in `http_sso.rs`.

mod common;

use dagu_auth::model::{AuthProvider, Role, SsoIdentity};
use dagu_auth::service::{AuditRequest, SsoSignIn};
use dagu_auth::sso::{Provisioning, RoleAttributePath, RoleMapping};
use dagu_auth::{Engine, Error};
use dagu_auth_abi::{DaguAuthAction as Action, DaguAuthDecision as Decision};
use serde_json::{Value, json};

use common::{Fixture, USER_PASSWORD};

const ISSUER: &str = "https://idp.example.test";

fn licensed() -> Fixture {
    Fixture::with(|config| config.license_features.push("sso".into()))
}

fn oidc(subject: &str, email: &str, groups: &[&str]) -> SsoSignIn<'static> {
    let email: &'static str = Box::leak(email.to_string().into_boxed_str());
    SsoSignIn {
        identity: SsoIdentity {
            provider: AuthProvider::Oidc,
            issuer: ISSUER.into(),
            subject: subject.into(),
        },
        email: Some(email),
        preferred_username: None,
        groups: groups.iter().map(|g| g.to_string()).collect(),
        claims: json!({"sub": subject, "email": email, "groups": groups}),
        client_ip: "10.0.0.7",
    }
}

fn oidc_rules() -> Provisioning {
    Provisioning {
        email_required: true,
        mapping: RoleMapping {
            group_mappings: [
                ("devs".to_string(), Role::Developer),
                ("admins".to_string(), Role::Admin),
            ]
            .into(),
            ..RoleMapping::default()
        },
        ..Provisioning::default()
    }
}

fn refusal(engine: &Engine, rules: &Provisioning, sign_in: SsoSignIn<'_>) -> String {
    match engine.sso_sign_in(rules, sign_in) {
        Err(Error::Forbidden(message)) => message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_new_identity_is_provisioned_once_and_found_again_by_issuer_and_subject() {
    let f = licensed();
    f.setup_admin();
    let first = f
        .engine
        .sso_sign_in(&oidc_rules(), oidc("sub-1", "alice@example.com", &["devs"]))
        .expect("signs in");
    assert!(first.new_user);
    assert_eq!(first.login.user.username, "alice");
    assert_eq!(first.login.user.role, Role::Developer);
    assert_eq!(first.login.user.auth_provider(), AuthProvider::Oidc);
    let again = f
        .engine
        .sso_sign_in(
            &oidc_rules(),
            oidc("sub-1", "changed@example.com", &["devs"]),
        )
        .expect("signs in again");
    assert!(!again.new_user);
    assert_eq!(again.login.user.id, first.login.user.id);
    let token = again.login.token.as_str();
    assert_eq!(
        f.engine
            .authorize(token, Action::Write, "")
            .expect("decides"),
        Decision::Allow
    );
}

#[test]
fn the_same_email_under_another_subject_is_another_user_never_a_takeover() {
    let f = licensed();
    let admin = f.setup_admin();
    f.user(&admin, "alice", "admin");
    let first = f
        .engine
        .sso_sign_in(&oidc_rules(), oidc("sub-1", "alice@example.com", &[]))
        .expect("signs in");
    let second = f
        .engine
        .sso_sign_in(&oidc_rules(), oidc("sub-2", "alice@example.com", &[]))
        .expect("signs in");
    // Neither is the builtin alice, and each subject has its own account.
    assert_eq!(first.login.user.username, "alice2");
    assert_eq!(second.login.user.username, "alice3");
    assert_ne!(first.login.user.id, second.login.user.id);
    assert_eq!(first.login.user.role, Role::Viewer);
}

#[test]
fn the_preferred_username_comes_before_the_email_local_part() {
    let f = licensed();
    f.setup_admin();
    let mut sign_in = oidc("sub-1", "a.smith@example.com", &[]);
    sign_in.preferred_username = Some("Alice.Smith");
    let session = f
        .engine
        .sso_sign_in(&oidc_rules(), sign_in)
        .expect("signs in");
    assert_eq!(session.login.user.username, "alice_smith");
}

#[test]
fn email_rules_and_auto_signup_refuse_with_dagus_messages() {
    let f = licensed();
    f.setup_admin();
    let mut rules = oidc_rules();
    let mut no_email = oidc("sub-1", "", &[]);
    no_email.email = None;
    assert_eq!(
        refusal(&f.engine, &rules, no_email),
        "email claim is required but not provided by identity provider"
    );
    rules.allowed_domains = vec!["example.com".into()];
    rules.whitelist = vec!["boss@partner.test".into()];
    assert_eq!(
        refusal(&f.engine, &rules, oidc("sub-2", "eve@evil.test", &[])),
        "your email domain is not authorized"
    );
    // An address the provider says it has not verified vouches for no domain.
    for unverified in [json!(false), json!("false")] {
        let mut typed = oidc("sub-5", "anyone@example.com", &[]);
        typed.claims["email_verified"] = unverified;
        assert_eq!(
            refusal(&f.engine, &rules, typed),
            "your email domain is not authorized"
        );
    }
    let mut verified = oidc("sub-6", "dev@example.com", &[]);
    verified.claims["email_verified"] = json!(true);
    f.engine
        .sso_sign_in(&rules, verified)
        .expect("a verified address in an allowed domain");
    f.engine
        .sso_sign_in(&rules, oidc("sub-3", "boss@partner.test", &[]))
        .expect("the whitelist admits");
    rules.auto_signup = false;
    assert_eq!(
        refusal(&f.engine, &rules, oidc("sub-4", "new@example.com", &[])),
        "automatic account creation is disabled, contact administrator"
    );
    // An identity provisioned earlier still gets in.
    f.engine
        .sso_sign_in(&rules, oidc("sub-3", "boss@partner.test", &[]))
        .expect("known identity");
}

#[test]
fn a_disabled_sso_user_is_refused() {
    let f = licensed();
    let admin = f.setup_admin();
    let session = f
        .engine
        .sso_sign_in(&oidc_rules(), oidc("sub-1", "bob@example.com", &[]))
        .expect("signs in");
    let disable = common::patch(json!({"isDisabled": true}));
    f.engine
        .update_user(admin.as_str(), &session.login.user.id, disable)
        .expect("disable");
    assert_eq!(
        refusal(
            &f.engine,
            &oidc_rules(),
            oidc("sub-1", "bob@example.com", &[])
        ),
        "your account has been disabled, contact administrator"
    );
}

#[test]
fn every_sign_in_re_syncs_role_and_grants_and_the_trail_says_what_changed() {
    let f = licensed();
    let admin = f.setup_admin();
    let mut rules = oidc_rules();
    rules.mapping.workspace_mappings = [(
        "ops".to_string(),
        vec![dagu_auth::model::Grant {
            workspace: "prod".into(),
            role: Role::Operator,
        }],
    )]
    .into();
    let first = f
        .engine
        .sso_sign_in(&rules, oidc("sub-1", "carol@example.com", &["admins"]))
        .expect("signs in");
    assert_eq!(first.login.user.role, Role::Admin);
    let second = f
        .engine
        .sso_sign_in(&rules, oidc("sub-1", "carol@example.com", &["ops"]))
        .expect("signs in");
    assert_eq!(second.login.user.role, Role::Viewer);
    assert!(!second.login.user.workspace_access.all);
    let token = second.login.token.as_str();
    assert_eq!(
        f.engine
            .authorize(token, Action::Execute, "prod")
            .expect("decides"),
        Decision::Allow
    );
    assert_eq!(
        f.engine
            .authorize(token, Action::Execute, "dev")
            .expect("decides"),
        Decision::NotVisible
    );
    let trail = f
        .engine
        .list_audit(admin.as_str(), AuditRequest::default())
        .expect("trail");
    let trail = serde_json::to_value(&trail).expect("json");
    let synced = trail["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["action"] == "sso_role_sync")
        .expect("a sync entry");
    let details: Value =
        serde_json::from_str(synced["details"].as_str().expect("text")).expect("json");
    assert_eq!(details["old_role"], "admin");
    assert_eq!(details["role"], "viewer");
    assert_eq!(
        details["workspace_access"]["grants"][0]["workspace"],
        "prod"
    );
}

#[test]
fn skip_org_role_sync_keeps_what_the_first_sign_in_assigned() {
    let f = licensed();
    f.setup_admin();
    let mut rules = oidc_rules();
    rules.mapping.skip_org_role_sync = true;
    f.engine
        .sso_sign_in(&rules, oidc("sub-1", "dave@example.com", &["devs"]))
        .expect("signs in");
    let again = f
        .engine
        .sso_sign_in(&rules, oidc("sub-1", "dave@example.com", &["admins"]))
        .expect("signs in");
    assert_eq!(again.login.user.role, Role::Developer);
}

#[test]
fn strict_mapping_refuses_an_identity_no_mapping_matches() {
    let f = licensed();
    f.setup_admin();
    let mut rules = oidc_rules();
    rules.mapping.strict = true;
    assert_eq!(
        refusal(
            &f.engine,
            &rules,
            oidc("sub-1", "erin@example.com", &["nobody"])
        ),
        "no valid role found from OIDC claims"
    );
    rules.mapping.role_attribute_path =
        Some(RoleAttributePath::new(".dagu_role").expect("compiles"));
    let mut with_role = oidc("sub-1", "erin@example.com", &["nobody"]);
    with_role.claims["dagu_role"] = json!("manager");
    let session = f
        .engine
        .sso_sign_in(&rules, with_role)
        .expect("mapped by the claim");
    assert_eq!(session.login.user.role, Role::Manager);
}

#[test]
fn sso_users_have_no_password_to_sign_in_with_change_or_reset_nor_a_second_factor() {
    let f = licensed();
    let admin = f.setup_admin();
    let session = f
        .engine
        .sso_sign_in(&oidc_rules(), oidc("sub-1", "frank@example.com", &[]))
        .expect("signs in");
    let user = &session.login.user;
    // The generic refusal, whatever is typed (an empty password included).
    for typed in ["", USER_PASSWORD] {
        assert_eq!(
            f.engine
                .login(&user.username, typed, "10.0.0.7")
                .map(|_| ()),
            Err(Error::Unauthenticated(
                "Invalid username or password".into()
            ))
        );
    }
    let managed = Err(Error::Forbidden(
        "Password is managed by the authentication provider for this user".into(),
    ));
    let change = f
        .engine
        .change_password(session.login.token.as_str(), "", "new-password-123")
        .map(|_| ());
    assert_eq!(change, managed);
    let reset = f
        .engine
        .reset_password(admin.as_str(), &user.id, "new-password-123")
        .map(|_| ());
    assert_eq!(reset, managed);
    // Nor a second factor here: an SSO sign-in never asks for a code.
    let totp = f
        .engine
        .start_totp_setup(session.login.token.as_str())
        .map(|_| ());
    let mfa_managed = Err(Error::Forbidden(
        "Two-factor authentication is managed by the authentication provider for this user".into(),
    ));
    assert_eq!(totp, mfa_managed);
    // Nor turned on from a secret started before setup was refused to them.
    let confirm = f
        .engine
        .confirm_totp(session.login.token.as_str(), "123456")
        .map(|_| ());
    assert_eq!(confirm, mfa_managed);
}

#[test]
fn without_the_sso_licence_feature_nobody_signs_in() {
    let f = Fixture::new();
    f.setup_admin();
    assert_eq!(
        refusal(
            &f.engine,
            &oidc_rules(),
            oidc("sub-1", "a@example.com", &[])
        ),
        "SSO requires an active Dagu license"
    );
}

#[test]
fn sso_never_creates_the_first_user() {
    let f = licensed();
    assert!(matches!(
        f.engine
            .sso_sign_in(&oidc_rules(), oidc("sub-1", "a@example.com", &[])),
        Err(Error::Forbidden(_))
    ));
    assert!(f.engine.setup_required().expect("reads"));
}

#[test]
fn the_user_list_reports_the_providers_that_manage_roles_and_workspaces() {
    let f = Fixture::with(|config| {
        config.license_features.push("sso".into());
        config.oidc = Some(dagu_auth::sso::OidcSettings {
            client_id: "c".into(),
            client_secret: "s".into(),
            client_url: "http://localhost:8080".into(),
            issuer: ISSUER.into(),
            scopes: vec!["openid".into()],
            button_label: "Login with SSO".into(),
            groups_claim: "groups".into(),
            provisioning: oidc_rules(),
        });
    });
    let admin = f.setup_admin();
    f.engine
        .sso_sign_in(&oidc_rules(), oidc("sub-1", "gina@example.com", &[]))
        .expect("signs in");
    let (status, list, _) = f.http("GET", "/api/v1/users", Some(&admin), b"");
    assert_eq!(status, 200);
    assert_eq!(list["managedRoleProviders"], json!(["oidc"]));
    assert_eq!(list["managedWorkspaceAccessProviders"], json!([]));
    assert_eq!(list["oidcWorkspaceAccessSyncEnabled"], json!(false));
    let providers: Vec<&str> = list["users"]
        .as_array()
        .expect("users")
        .iter()
        .filter_map(|u| u["authProvider"].as_str())
        .collect();
    assert_eq!(providers, ["builtin", "oidc"]);
}
