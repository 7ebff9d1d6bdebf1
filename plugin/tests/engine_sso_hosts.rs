//! One SSO identity is one user however many hosts sign it in: on PostgreSQL (several hosts on one
//! database) and on SQLite (several processes on one file), also when two hosts provision the same
//! new identity at the same moment.

mod common;
mod pg;

use std::sync::{Arc, Barrier};

use dagu_auth::Engine;
use dagu_auth::model::{AuthProvider, SsoIdentity};
use dagu_auth::service::SsoSignIn;
use dagu_auth::sso::Provisioning;

fn sign_in(subject: &str) -> SsoSignIn<'static> {
    SsoSignIn {
        identity: SsoIdentity {
            provider: AuthProvider::Oidc,
            issuer: "https://idp.example.test".into(),
            subject: subject.into(),
        },
        email: Some("racer@example.com"),
        preferred_username: None,
        groups: Vec::new(),
        claims: serde_json::json!({}),
        client_ip: "10.0.0.1",
    }
}

fn rules() -> Provisioning {
    Provisioning {
        email_required: true,
        ..Provisioning::default()
    }
}

/// Both hosts sign the same new identity in at once, `rounds` times with a new identity each
/// time; both must end up as one user, which is the only one with that identity.
fn race(first: Arc<Engine>, second: Arc<Engine>, rounds: usize) {
    for round in 0..rounds {
        let subject = format!("racer-{round}");
        let barrier = Arc::new(Barrier::new(2));
        let runs: Vec<_> = [Arc::clone(&first), Arc::clone(&second)]
            .into_iter()
            .map(|engine| {
                let (barrier, subject) = (Arc::clone(&barrier), subject.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    engine
                        .sso_sign_in(&rules(), sign_in(&subject))
                        .map(|session| (session.login.user.id, session.new_user))
                })
            })
            .collect();
        let results: Vec<(String, bool)> = runs
            .into_iter()
            .map(|run| run.join().expect("no panic").expect("signs in"))
            .collect();
        assert_eq!(
            results[0].0, results[1].0,
            "round {round}: one user for one identity"
        );
        let created = results.iter().filter(|(_, new)| *new).count();
        assert_eq!(
            created, 1,
            "round {round}: exactly one sign-in created the user"
        );
        let identity = sign_in(&subject).identity;
        let found = first
            .sso_sign_in(&rules(), sign_in(&subject))
            .expect("signs in");
        assert_eq!(found.login.user.id, results[0].0);
        assert_eq!(found.login.user.sso, Some(identity));
    }
}

#[test]
fn two_processes_on_one_sqlite_file_provision_a_new_identity_once() {
    let f = common::Fixture::with(|config| config.license_features.push("sso".into()));
    f.setup_admin();
    let mut config = common::config(f.dir.path());
    config.license_features.push("sso".into());
    let second = Engine::open(config).expect("second opens");
    let first = Engine::open({
        let mut config = common::config(f.dir.path());
        config.license_features.push("sso".into());
        config
    })
    .expect("first opens");
    race(Arc::new(first), Arc::new(second), 10);
}

#[cfg(feature = "postgres")]
#[test]
fn two_hosts_on_one_postgres_database_provision_a_new_identity_once() {
    use dagu_auth::config::{PostgresConfig, StoreConfig};
    let Some(schema) = pg::schema() else { return };
    let host = || {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = common::config(dir.path());
        config.license_features.push("sso".into());
        config.token_secret = Some(b"a shared secret of at least 32 bytes!".to_vec());
        config.store = StoreConfig::Postgres(PostgresConfig::new(&schema.url));
        (dir, Engine::open(config).expect("host opens"))
    };
    let (_first_dir, first) = host();
    let (_second_dir, second) = host();
    first
        .setup("admin", common::ADMIN_PASSWORD, "")
        .expect("setup");
    race(Arc::new(first), Arc::new(second), 20);
}
