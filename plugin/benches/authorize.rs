//! `authorize` through the C ABI and the Rust ABI (session token and API key, cache hot and cold),
//! beside casbin-rs (RBAC with domains, two models) and a hand-written HashMap floor, in one run,
//! at 1,000 and 100,000 users. Every case's decision is cross-checked across all of them first.
//!
//! The C ABI is reached the way a host reaches it: `dlopen` of the built `libdagu_auth.so` and
//! calls through the symbol's function pointer (abi_stable's `RawLibrary`, already a dependency),
//! not a direct call into the rlib, which the optimiser could inline across.

mod common;

use std::collections::HashMap;
use std::ffi::{CString, c_char, c_void};
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use abi_stable::library::RawLibrary;
use abi_stable::std_types::RStr;
use casbin::{CoreApi, DefaultModel, Enforcer, MemoryAdapter, MgmtApi};
use common::{Case, Dataset, Principal, SECRET};
use criterion::{Criterion, criterion_group, criterion_main};
use dagu_auth::model::WorkspaceAccess;
use dagu_auth::policy::{decide, minimum_role};
use dagu_auth::token::TokenCodec;
use dagu_auth_abi::{DaguAuthAction, DaguAuthDecision, InstanceBox};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type OpenFn = unsafe extern "C" fn(*const c_char, *mut *mut c_void, *mut *mut c_char) -> u32;
type AuthorizeFn = unsafe extern "C" fn(
    *const c_void,
    *const c_char,
    u32,
    *const c_char,
    *mut u32,
    *mut *mut c_char,
) -> u32;
type UpdateFn = unsafe extern "C" fn(
    *const c_void,
    *const c_char,
    *const c_char,
    *const c_char,
    *mut *mut c_char,
    *mut *mut c_char,
) -> u32;
type FreeFn = unsafe extern "C" fn(*mut c_char);

/// The plugin through its C functions, as a C host holds it.
struct CPlugin {
    instance: *mut c_void,
    authorize: AuthorizeFn,
    update: UpdateFn,
    free: FreeFn,
    _library: &'static RawLibrary,
}

impl CPlugin {
    fn open(library: &Path, config_json: &str) -> Self {
        // Loaded for the life of the process: a Rust cdylib with thread-local destructors stays
        // mapped after dlclose on glibc, so no host unloads it.
        let library: &'static RawLibrary =
            Box::leak(Box::new(RawLibrary::load_at(library).expect("dlopen")));
        // SAFETY: the signatures match include/dagu_auth.h.
        unsafe {
            let open: OpenFn = *library.get(b"dagu_auth_open\0").expect("open");
            let authorize: AuthorizeFn = *library.get(b"dagu_auth_authorize\0").expect("authz");
            let update: UpdateFn = *library.get(b"dagu_auth_user_update\0").expect("update");
            let free: FreeFn = *library.get(b"dagu_auth_string_free\0").expect("free");
            let config = CString::new(config_json).expect("config");
            let mut instance = std::ptr::null_mut();
            let mut error = std::ptr::null_mut();
            assert_eq!(open(config.as_ptr(), &mut instance, &mut error), 0, "open");
            Self {
                instance,
                authorize,
                update,
                free,
                _library: library,
            }
        }
    }

    /// The decision, or 100 + status on an error.
    #[inline]
    fn authorize(&self, token: &CString, action: u32, workspace: &CString) -> u32 {
        let mut decision = 0;
        let mut error = std::ptr::null_mut();
        // SAFETY: valid NUL-terminated strings and out-pointers; the instance lives on.
        let status = unsafe {
            (self.authorize)(
                self.instance,
                token.as_ptr(),
                action,
                workspace.as_ptr(),
                &mut decision,
                &mut error,
            )
        };
        if status == 0 {
            return decision;
        }
        // SAFETY: error text is the library's to free.
        unsafe { (self.free)(error) };
        100 + status
    }

    /// A cheap write (move one user's grant between two workspaces), which drops the principal cache.
    fn invalidate(&self, admin: &CString, victim: &CString, flip: bool) {
        let workspace = if flip { "ws00" } else { "ws01" };
        let body = CString::new(format!(
            r#"{{"workspaceAccess":{{"all":false,"grants":[{{"workspace":"{workspace}","role":"viewer"}}]}}}}"#
        ))
        .expect("json");
        let (mut out, mut error) = (std::ptr::null_mut(), std::ptr::null_mut());
        // SAFETY: as above.
        let status = unsafe {
            (self.update)(
                self.instance,
                admin.as_ptr(),
                victim.as_ptr(),
                body.as_ptr(),
                &mut out,
                &mut error,
            )
        };
        if status != 0 {
            // SAFETY: the library wrote a NUL-terminated message.
            let text = unsafe { std::ffi::CStr::from_ptr(error) }.to_string_lossy();
            panic!("user update: status {status}: {text}");
        }
        // SAFETY: the output string is the library's to free.
        unsafe { (self.free)(out) };
    }
}

/// The Rust ABI, loaded with the contract crate's checked loader.
fn rust_plugin(library: &Path, config_json: &str) -> InstanceBox {
    let module = dagu_auth_abi::load_plugin(library).expect("abi_stable load");
    module.open()(RStr::from_str(config_json)).expect("open")
}

fn rust_authorize(instance: &InstanceBox, token: &str, action: u32, workspace: &str) -> u32 {
    match instance.authorize(RStr::from_str(token), action, RStr::from_str(workspace)) {
        abi_stable::std_types::ROk(decision) => decision,
        abi_stable::std_types::RErr(e) => 100 + e.status,
    }
}

/// The floor: what a host would hand-write in process, a map of principal to role and grants.
struct Floor(HashMap<String, (dagu_auth::model::Role, WorkspaceAccess)>);

impl Floor {
    fn new(principals: &[Principal]) -> Self {
        Self(
            principals
                .iter()
                .map(|p| (p.id.clone(), (p.role, p.access.clone())))
                .collect(),
        )
    }
    #[inline]
    fn decide(&self, id: &str, action: u32, workspace: &str) -> u32 {
        let Some((role, access)) = self.0.get(id) else {
            return 0;
        };
        let action = DaguAuthAction::from_u32(action).expect("action");
        decide(*role, access, action, workspace) as u32
    }
}

const ACTIONS: [&str; 5] = ["view", "execute", "write", "audit", "admin"];
const ROLES: [dagu_auth::model::Role; 5] = dagu_auth::model::Role::ALL;

fn action_name(action: u32) -> &'static str {
    ACTIONS[action as usize - 1]
}

/// Audit and admin, and the default workspace, are decided by the top-level role: the `_global`
/// domain in both casbin models.
fn casbin_domain(action: u32, workspace: &str) -> &str {
    if action >= DaguAuthAction::Audit as u32 || workspace.is_empty() {
        "_global"
    } else {
        workspace
    }
}

/// The documented RBAC-with-domains model: every (role, action) permission repeated per domain.
const DOMAINS_MODEL: &str = "
[request_definition]
r = sub, dom, obj, act
[policy_definition]
p = sub, dom, obj, act
[role_definition]
g = _, _, _
[policy_effect]
e = some(where (p.eft == allow))
[matchers]
m = g(r.sub, p.sub, r.dom) && r.dom == p.dom && r.obj == p.obj && r.act == p.act
";

/// The flattened model: permissions once per role (15 rules), the top-level role as a grant in
/// `_global`, the cheap string comparison before the role-graph lookup.
const FLAT_MODEL: &str = "
[request_definition]
r = sub, dom, act
[policy_definition]
p = sub, act
[role_definition]
g = _, _, _
[policy_effect]
e = some(where (p.eft == allow))
[matchers]
m = r.act == p.act && g(r.sub, p.sub, r.dom)
";

/// Polls a future that never waits on I/O (casbin's in-memory adapter) to completion.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut context) {
            return value;
        }
    }
}

fn role_name(role: dagu_auth::model::Role) -> String {
    format!("role:{}", role.as_str())
}

/// Both casbin enforcers over the same principals (users and keys), and how long each took to load.
fn casbin_enforcers(principals: &[&Principal]) -> ((Enforcer, Duration), (Enforcer, Duration)) {
    let mut grouping: Vec<Vec<String>> = Vec::new();
    for p in principals {
        grouping.push(vec![p.id.clone(), role_name(p.role), "_global".into()]);
        for grant in &p.access.grants {
            grouping.push(vec![
                p.id.clone(),
                role_name(grant.role),
                grant.workspace.clone(),
            ]);
        }
        // `all` principals see every workspace with their top-level role.
        if p.access.all {
            for w in 0..common::WORKSPACES {
                grouping.push(vec![p.id.clone(), role_name(p.role), common::workspace(w)]);
            }
        }
    }
    let permissions: Vec<(String, &str)> = ROLES
        .iter()
        .flat_map(|&role| {
            (1..=5u32)
                .filter(move |&a| {
                    role >= minimum_role(DaguAuthAction::from_u32(a).expect("action"))
                })
                .map(move |a| (role_name(role), action_name(a)))
        })
        .collect();
    let build = |model: &str, rules: Vec<Vec<String>>| {
        let started = Instant::now();
        let enforcer = block_on(async {
            let model = DefaultModel::from_str(model).await.expect("model");
            let mut enforcer = Enforcer::new(model, MemoryAdapter::default())
                .await
                .expect("enforcer");
            enforcer.add_policies(rules).await.expect("policies");
            enforcer
                .add_grouping_policies(grouping.clone())
                .await
                .expect("grouping");
            enforcer
        });
        (enforcer, started.elapsed())
    };
    let flat_rules = permissions
        .iter()
        .map(|(role, act)| vec![role.clone(), (*act).to_string()])
        .collect();
    let mut domain_rules = Vec::new();
    for dom in
        std::iter::once("_global".to_string()).chain((0..common::WORKSPACES).map(common::workspace))
    {
        for (role, act) in &permissions {
            domain_rules.push(vec![
                role.clone(),
                dom.clone(),
                "dag".into(),
                (*act).to_string(),
            ]);
        }
    }
    (
        build(FLAT_MODEL, flat_rules),
        build(DOMAINS_MODEL, domain_rules),
    )
}

fn flat_allows(e: &Enforcer, sub: &str, action: u32, workspace: &str) -> bool {
    e.enforce((sub, casbin_domain(action, workspace), action_name(action)))
        .expect("enforce")
}

fn domains_allows(e: &Enforcer, sub: &str, action: u32, workspace: &str) -> bool {
    e.enforce((
        sub,
        casbin_domain(action, workspace),
        "dag",
        action_name(action),
    ))
    .expect("enforce")
}

/// A timed case: the credential as the ABIs take it and the principal as the others know it.
struct Timed {
    token: String,
    token_c: CString,
    subject: String,
    action: u32,
    workspace: String,
    workspace_c: CString,
}

fn timed(cases: &[Case], credential: impl Fn(usize) -> (String, String)) -> Vec<Timed> {
    cases
        .iter()
        .map(|case| {
            let (token, subject) = credential(case.principal);
            Timed {
                token_c: CString::new(token.clone()).expect("token"),
                token,
                subject,
                action: case.action,
                workspace_c: CString::new(case.workspace.clone()).expect("ws"),
                workspace: case.workspace.clone(),
            }
        })
        .collect()
}

/// Criterion iterates; each iteration takes the next case, round-robin.
fn cycle<'a, T>(items: &'a [T]) -> impl FnMut() -> &'a T {
    let mut i = 0;
    move || {
        i = if i + 1 == items.len() { 0 } else { i + 1 };
        &items[i]
    }
}

fn bench_size(c: &mut Criterion, users: usize) {
    let data = Dataset::get(users);
    let library = common::plugin_library();
    eprintln!(
        "[{users}] plugin library: {}; load {}",
        library.display(),
        common::load_average()
    );
    let c_dir = data.copy_to("authorize-c");
    let r_dir = data.copy_to("authorize-rust");
    let cplugin = CPlugin::open(&library, &data.config_json(&c_dir));
    let rplugin = rust_plugin(&library, &data.config_json(&r_dir));

    // Sessions: one case per signed-in principal; keys: one per key.
    let session_picks: Vec<usize> = (0..data.sessions.len()).collect();
    let session_principals: Vec<Principal> = data
        .sessions
        .iter()
        .map(|(u, _)| data.principals[*u].clone())
        .collect();
    let session_cases = timed(
        &common::cases(&session_principals, &session_picks, 11),
        |i| (data.sessions[i].1.clone(), session_principals[i].id.clone()),
    );
    let key_picks: Vec<usize> = (0..data.keys.len()).collect();
    let key_cases = timed(&common::cases(&data.key_principals, &key_picks, 13), |i| {
        (data.keys[i].1.clone(), data.key_principals[i].id.clone())
    });

    let mut everyone: Vec<&Principal> = data.principals.iter().collect();
    everyone.extend(data.key_principals.iter());
    let floor = Floor::new(&everyone.iter().map(|p| (*p).clone()).collect::<Vec<_>>());
    let ((flat, flat_load), (domains, domains_load)) = casbin_enforcers(&everyone);
    eprintln!(
        "[{users}] casbin load: flattened {:.3} s, per-domain {:.3} s; RSS {:?} KiB",
        flat_load.as_secs_f64(),
        domains_load.as_secs_f64(),
        common::rss_kib()
    );

    // Cross-check every case across all implementations before any timing.
    let mut tally = [0usize; 4];
    for case in session_cases.iter().chain(&key_cases) {
        let expected = floor.decide(&case.subject, case.action, &case.workspace);
        let via_c = cplugin.authorize(&case.token_c, case.action, &case.workspace_c);
        let via_rust = rust_authorize(&rplugin, &case.token, case.action, &case.workspace);
        let allow = expected == DaguAuthDecision::Allow as u32;
        assert_eq!(via_c, expected, "C ABI vs floor: {}", case.subject);
        assert_eq!(via_rust, expected, "Rust ABI vs floor: {}", case.subject);
        assert_eq!(
            flat_allows(&flat, &case.subject, case.action, &case.workspace),
            allow
        );
        assert_eq!(
            domains_allows(&domains, &case.subject, case.action, &case.workspace),
            allow
        );
        tally[expected as usize] += 1;
    }
    eprintln!(
        "[{users}] cross-checked {} cases (decisions by value {:?}): all agree",
        session_cases.len() + key_cases.len(),
        tally
    );

    let mut group = c.benchmark_group(format!("authorize/{users}"));
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));

    group.bench_function("floor_hashmap", |b| {
        let mut next = cycle(&session_cases);
        b.iter(|| {
            let case = next();
            black_box(floor.decide(black_box(&case.subject), case.action, &case.workspace))
        })
    });
    let mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
    group.bench_function("hmac_sha256_of_token", |b| {
        let mut next = cycle(&session_cases);
        b.iter(|| {
            let token = &next().token;
            let input = &token.as_bytes()[..token.rfind('.').unwrap_or(0)];
            let mut m = mac.clone();
            m.update(black_box(input));
            black_box(m.finalize().into_bytes())
        })
    });
    let codec = TokenCodec::new(SECRET.as_bytes(), Duration::from_secs(60)).expect("codec");
    let now_secs = common::now_ms() / 1000;
    // What `authorize` runs per session token: header check, signature decode, HMAC, compare.
    group.bench_function("token_signature_verify", |b| {
        let mut next = cycle(&session_cases);
        b.iter(|| black_box(codec.verify_signature(black_box(&next().token)).is_ok()))
    });
    // The same plus parsing the claims, as on a cache miss.
    group.bench_function("token_verify_and_parse", |b| {
        let mut next = cycle(&session_cases);
        b.iter(|| black_box(codec.verify(black_box(&next().token), now_secs).is_ok()))
    });
    let credentials = [("session", &session_cases), ("apikey", &key_cases)];
    for (credential, cases) in credentials {
        group.bench_function(format!("c_abi_{credential}_hot"), |b| {
            let mut next = cycle(cases);
            b.iter(|| {
                let case = next();
                black_box(cplugin.authorize(&case.token_c, case.action, &case.workspace_c))
            })
        });
    }
    for (credential, cases) in credentials {
        group.bench_function(format!("rust_abi_{credential}_hot"), |b| {
            let mut next = cycle(cases);
            b.iter(|| {
                let case = next();
                black_box(rust_authorize(
                    &rplugin,
                    &case.token,
                    case.action,
                    &case.workspace,
                ))
            })
        });
    }
    group.bench_function("casbin_flattened", |b| {
        let mut next = cycle(&session_cases);
        b.iter(|| {
            let case = next();
            black_box(flat_allows(
                &flat,
                &case.subject,
                case.action,
                &case.workspace,
            ))
        })
    });

    // Cold: one cheap write empties the cache (untimed), then a batch of distinct credentials is
    // timed, each needing its session (or key) and user read from SQLite.
    let admin = CString::new(data.admin_token()).expect("admin");
    let victim = CString::new(data.principals[users - 1].id.clone()).expect("victim");
    let mut flip = false;
    for (name, cases) in [
        ("c_abi_session_cold", &session_cases),
        ("c_abi_apikey_cold", &key_cases),
    ] {
        let batch = cases.len().min(256);
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut done = 0u64;
                let mut offset = 0usize;
                while done < iters {
                    flip = !flip;
                    cplugin.invalidate(&admin, &victim, flip);
                    let n = (iters - done).min(batch as u64) as usize;
                    let started = Instant::now();
                    for j in 0..n {
                        let case = &cases[(offset + j) % cases.len()];
                        black_box(cplugin.authorize(&case.token_c, case.action, &case.workspace_c));
                    }
                    total += started.elapsed();
                    offset = (offset + n) % cases.len();
                    done += n as u64;
                }
                total
            })
        });
    }

    group.sample_size(10);
    group.bench_function("casbin_per_domain", |b| {
        let mut next = cycle(&session_cases);
        b.iter(|| {
            let case = next();
            black_box(domains_allows(
                &domains,
                &case.subject,
                case.action,
                &case.workspace,
            ))
        })
    });
    group.finish();
    // The instances live until exit: a host treats the plugin as loaded for good (see `open`).
    std::mem::forget(rplugin);
}

fn authorize(c: &mut Criterion) {
    let sizes: Vec<usize> = std::env::var("BENCH_USERS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 100_000]);
    for users in sizes {
        bench_size(c, users);
    }
}

criterion_group!(benches, authorize);
criterion_main!(benches);
