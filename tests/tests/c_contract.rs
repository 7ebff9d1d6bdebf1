//! Promises of `include/dagu_auth.h` that the C programs of `tests/c` do not check, kept through the
//! C ABI (libloading): error text survives a NUL inside it, a required NULL changes nothing, and
//! the authorize rules the header writes down.

use std::ffi::{CStr, CString, c_char, c_void};
use std::ptr;

use dagu_auth_abi::{DaguAuthAction as Action, DaguAuthDecision as Decision, DaguAuthStatus};
use dagu_auth_tests::native::plugin;
use libloading::Library;
use serde_json::{Value, json};

type Instance = *mut c_void;
type Out = *mut *mut c_char;

/// What a call gave: its status, its JSON output and its error text.
#[derive(Debug)]
struct Answer {
    status: u32,
    out: Option<String>,
    error: Option<String>,
}

impl Answer {
    fn json(&self) -> Value {
        assert_eq!(self.status, 0, "{:?}", self.error);
        serde_json::from_str(self.out.as_deref().unwrap_or("")).expect("JSON output")
    }
}

fn library() -> &'static Library {
    static LIBRARY: std::sync::OnceLock<&'static Library> = std::sync::OnceLock::new();
    LIBRARY.get_or_init(|| {
        // SAFETY: loading the plugin runs no initialisers with preconditions.
        let lib = unsafe { Library::new(plugin()) }.expect("load the plugin");
        // Never unloaded: the header says so.
        Box::leak(Box::new(lib))
    })
}

fn sym<T: Copy>(name: &str) -> T {
    // SAFETY: each caller names the function's C signature as `T`.
    *unsafe { library().get::<T>(name.as_bytes()) }.unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn text(value: &str) -> CString {
    CString::new(value).expect("no NUL in test strings")
}

/// Takes a string the library returned, freeing it.
fn take(raw: *mut c_char) -> Option<String> {
    if raw.is_null() {
        return None;
    }
    // SAFETY: a string from the library, freed once below.
    let owned = unsafe { CStr::from_ptr(raw) }
        .to_string_lossy()
        .into_owned();
    let free: unsafe extern "C" fn(*mut c_char) = sym("dagu_auth_string_free");
    // SAFETY: as above.
    unsafe { free(raw) };
    Some(owned)
}

/// Calls `f(out, error)` with fresh output slots.
fn call(f: impl FnOnce(Out, Out) -> u32) -> Answer {
    let (mut out, mut error) = (ptr::null_mut(), ptr::null_mut());
    let status = f(&mut out, &mut error);
    Answer {
        status,
        out: take(out),
        error: take(error),
    }
}

fn open(config: &str) -> Answer {
    let open: unsafe extern "C" fn(*const c_char, *mut Instance, Out) -> u32 =
        sym("dagu_auth_open");
    let config = text(config);
    let mut instance: Instance = ptr::null_mut();
    let answer = call(|_, error| {
        // SAFETY: valid pointers.
        unsafe { open(config.as_ptr(), &mut instance, error) }
    });
    if !instance.is_null() {
        let close: unsafe extern "C" fn(Instance) = sym("dagu_auth_close");
        // SAFETY: from dagu_auth_open, closed once.
        unsafe { close(instance) };
    }
    answer
}

/// An open instance with a signed-in admin, on its own data folder.
struct Plugin {
    instance: Instance,
    admin: CString,
    _dir: tempfile::TempDir,
}

impl Plugin {
    fn new() -> Plugin {
        let dir = tempfile::tempdir().expect("a data folder");
        let config = json!({
            "dataDir": dir.path(),
            "licenseFeatures": ["rbac"],
            "argon2": {"memoryKib": 64, "iterations": 1, "parallelism": 1},
        });
        let open: unsafe extern "C" fn(*const c_char, *mut Instance, Out) -> u32 =
            sym("dagu_auth_open");
        let mut instance: Instance = ptr::null_mut();
        let config = text(&config.to_string());
        // SAFETY: valid pointers; error text is not needed here.
        let status = unsafe { open(config.as_ptr(), &mut instance, ptr::null_mut()) };
        assert_eq!(status, 0, "dagu_auth_open");
        let setup: unsafe extern "C" fn(Instance, *const c_char, *const c_char, Out, Out) -> u32 =
            sym("dagu_auth_setup");
        let (name, password) = (text("admin"), text("admin password 1"));
        // SAFETY: valid pointers.
        let login =
            call(|out, e| unsafe { setup(instance, name.as_ptr(), password.as_ptr(), out, e) });
        let admin = text(login.json()["token"].as_str().expect("a token"));
        Plugin {
            instance,
            admin,
            _dir: dir,
        }
    }

    /// `dagu_auth_user_create` as the admin.
    fn user_create(&self, request: &Value, out: Out, error: Out) -> u32 {
        let f: unsafe extern "C" fn(Instance, *const c_char, *const c_char, Out, Out) -> u32 =
            sym("dagu_auth_user_create");
        let request = text(&request.to_string());
        // SAFETY: valid pointers or NULL, as the caller chose.
        unsafe {
            f(
                self.instance,
                self.admin.as_ptr(),
                request.as_ptr(),
                out,
                error,
            )
        }
    }

    /// Creates a user and signs them in; returns their token.
    fn user(&self, name: &str, role: &str, access: Value) -> CString {
        let request = json!({
            "username": name, "password": "user password 1", "role": role, "workspaceAccess": access,
        });
        call(|out, e| self.user_create(&request, out, e)).json();
        let login: unsafe extern "C" fn(
            Instance,
            *const c_char,
            *const c_char,
            *const c_char,
            Out,
            Out,
        ) -> u32 = sym("dagu_auth_authenticate");
        let (name, password) = (text(name), text("user password 1"));
        let answer = call(|out, e| {
            // SAFETY: valid pointers; the client address may be NULL.
            unsafe {
                login(
                    self.instance,
                    name.as_ptr(),
                    password.as_ptr(),
                    ptr::null(),
                    out,
                    e,
                )
            }
        });
        text(answer.json()["token"].as_str().expect("a token"))
    }

    fn usernames(&self) -> Vec<String> {
        let f: unsafe extern "C" fn(Instance, *const c_char, Out, Out) -> u32 =
            sym("dagu_auth_user_list");
        // SAFETY: valid pointers.
        let list = call(|out, e| unsafe { f(self.instance, self.admin.as_ptr(), out, e) }).json();
        let users = list["users"].as_array().cloned().unwrap_or_default();
        users
            .iter()
            .filter_map(|u| u["username"].as_str().map(String::from))
            .collect()
    }

    /// `dagu_auth_authorize`, and `dagu_auth_authorize_n` on the same bytes, which must agree.
    fn decide(&self, token: &CStr, action: Action, workspace: &[u8]) -> Decision {
        let plain: unsafe extern "C" fn(
            Instance,
            *const c_char,
            u32,
            *const c_char,
            *mut u32,
            Out,
        ) -> u32 = sym("dagu_auth_authorize");
        let mut decisions = Vec::new();
        if let Ok(workspace) = CString::new(workspace) {
            let mut decision = 0;
            // SAFETY: valid pointers.
            let status = unsafe {
                plain(
                    self.instance,
                    token.as_ptr(),
                    action as u32,
                    workspace.as_ptr(),
                    &mut decision,
                    ptr::null_mut(),
                )
            };
            assert_eq!(status, 0, "dagu_auth_authorize");
            decisions.push(decision);
        }
        let (status, decision) = self.authorize_n(token.to_bytes(), action, workspace);
        assert_eq!(status, 0, "dagu_auth_authorize_n");
        decisions.push(decision);
        assert!(decisions.iter().all(|d| *d == decision), "{decisions:?}");
        Decision::from_u32(decision).expect("a known decision")
    }

    fn authorize_n(&self, token: &[u8], action: Action, workspace: &[u8]) -> (u32, u32) {
        let pointer = |bytes: &[u8]| bytes.as_ptr().cast::<c_char>();
        // SAFETY: each pointer is valid for its length.
        unsafe {
            self.authorize_n_raw(
                pointer(token),
                token.len(),
                action as u32,
                pointer(workspace),
                workspace.len(),
            )
        }
    }

    /// # Safety
    /// `token` and `workspace` are NULL or valid for their lengths.
    unsafe fn authorize_n_raw(
        &self,
        token: *const c_char,
        token_len: usize,
        action: u32,
        workspace: *const c_char,
        workspace_len: usize,
    ) -> (u32, u32) {
        type AuthorizeN = unsafe extern "C" fn(
            Instance,
            *const c_char,
            usize,
            u32,
            *const c_char,
            usize,
            *mut u32,
            Out,
        ) -> u32;
        let f: AuthorizeN = sym("dagu_auth_authorize_n");
        let mut decision = u32::MAX;
        // SAFETY: forwarded contract.
        let status = unsafe {
            f(
                self.instance,
                token,
                token_len,
                action,
                workspace,
                workspace_len,
                &mut decision,
                ptr::null_mut(),
            )
        };
        (status, decision)
    }
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let close: unsafe extern "C" fn(Instance) = sym("dagu_auth_close");
        // SAFETY: from dagu_auth_open, closed once.
        unsafe { close(self.instance) };
    }
}

/// The fuzzing reproducer (also in plugin/fuzz/corpus/capi_json): a field name holding an escaped
/// NUL. serde quotes the name in its message, and the NUL used to make the message impossible to
/// hand out, so `error_out` stayed NULL.
const CONFIG_WITH_A_NUL_IN_A_FIELD_NAME: &str = r#"{"audi\\\u00000uda0dRDyc"}"#;

#[test]
fn an_error_message_quoting_a_nul_still_reaches_error_out() {
    let answer = open(CONFIG_WITH_A_NUL_IN_A_FIELD_NAME);
    assert_eq!(answer.status, DaguAuthStatus::InvalidConfig as u32);
    let message = answer.error.expect("error_out receives a message");
    assert!(message.contains("audi\\\u{FFFD}0uda0dRDyc"), "{message}");

    // A JSON argument: serde quotes an unknown command, NUL and all.
    let plugin = Plugin::new();
    let operator: unsafe extern "C" fn(Instance, *const c_char, Out, Out) -> u32 =
        sym("dagu_auth_operator");
    let command = text(&json!({"command": "users.l\u{0}ist"}).to_string());
    // SAFETY: valid pointers.
    let answer = call(|out, e| unsafe { operator(plugin.instance, command.as_ptr(), out, e) });
    assert_eq!(answer.status, DaguAuthStatus::InvalidJson as u32);
    assert!(answer.out.is_none());
    let message = answer.error.expect("error_out receives a message");
    assert!(message.contains("users.l\u{FFFD}ist"), "{message}");
}

#[test]
fn a_required_null_changes_nothing() {
    let plugin = Plugin::new();
    let request = json!({"username": "nobody", "password": "user password 1", "role": "viewer"});
    let mut error = ptr::null_mut();
    let status = plugin.user_create(&request, ptr::null_mut(), &mut error);
    assert_eq!(status, DaguAuthStatus::NullArgument as u32);
    assert!(take(error).is_some());
    assert_eq!(plugin.usernames(), ["admin"], "no user was created");
    // The same request succeeds once the output is given: nothing of the first call remained.
    call(|out, e| plugin.user_create(&request, out, e)).json();
    assert_eq!(plugin.usernames(), ["admin", "nobody"]);
}

#[test]
fn error_out_is_left_as_it_was_on_success() {
    let plugin = Plugin::new();
    let request = json!({"username": "viewer", "password": "user password 1", "role": "viewer"});
    let mut before = 0 as c_char;
    let (mut out, mut error) = (ptr::null_mut(), &raw mut before);
    assert_eq!(plugin.user_create(&request, &mut out, &mut error), 0);
    assert!(std::ptr::eq(error, &raw mut before));
    assert!(take(out).is_some());
}

fn scoped_to_ops() -> Value {
    json!({"all": false, "grants": [{"workspace": "ops", "role": "developer"}]})
}

#[test]
fn audit_and_admin_in_an_ungranted_workspace_are_forbidden_not_hidden() {
    let plugin = Plugin::new();
    let scoped = plugin.user("scoped", "viewer", scoped_to_ops());
    assert_eq!(
        plugin.decide(&scoped, Action::View, b"secret"),
        Decision::NotVisible
    );
    for action in [Action::Audit, Action::Admin] {
        assert_eq!(
            plugin.decide(&scoped, action, b"secret"),
            Decision::Forbidden
        );
        assert_eq!(plugin.decide(&scoped, action, b"ops"), Decision::Forbidden);
    }
    // They use the top-level role, so a manager audits in any workspace.
    let manager = plugin.user("manager", "manager", json!({"all": true}));
    assert_eq!(
        plugin.decide(&manager, Action::Audit, b"secret"),
        Decision::Allow
    );
    assert_eq!(
        plugin.decide(&manager, Action::Admin, b"secret"),
        Decision::Forbidden
    );
}

#[test]
fn all_workspace_principals_are_allowed_on_any_workspace_name() {
    let plugin = Plugin::new();
    let developer = plugin.user("dev", "developer", json!({"all": true}));
    let scoped = plugin.user("scoped", "viewer", scoped_to_ops());
    let long = "w".repeat(65);
    // None of these could be granted: spaces, a slash, reserved names, too long, a NUL inside.
    let names: [&[u8]; 7] = [
        b"Not a name!",
        b"a/b",
        b"all",
        b"default",
        long.as_bytes(),
        b"ops\0x",
        "\u{e9}t\u{e9}".as_bytes(),
    ];
    for name in names {
        assert_eq!(
            plugin.decide(&developer, Action::Write, name),
            Decision::Allow,
            "{name:?}"
        );
        assert_eq!(
            plugin.decide(&scoped, Action::View, name),
            Decision::NotVisible,
            "{name:?}"
        );
    }
}

#[test]
fn grants_match_workspace_names_case_sensitively() {
    let plugin = Plugin::new();
    let scoped = plugin.user("scoped", "viewer", scoped_to_ops());
    assert_eq!(
        plugin.decide(&scoped, Action::Write, b"ops"),
        Decision::Allow
    );
    for name in [b"OPS", b"Ops", b"oPs"] {
        assert_eq!(
            plugin.decide(&scoped, Action::View, name),
            Decision::NotVisible
        );
    }
}

#[test]
fn authorize_n_refuses_null_with_a_length_and_invalid_utf8() {
    let plugin = Plugin::new();
    let token = plugin.admin.as_bytes();
    let view = Action::View as u32;
    // SAFETY: every non-NULL pointer is valid for its length.
    let (null_token, null_workspace) = unsafe {
        (
            plugin.authorize_n_raw(ptr::null(), 5, view, ptr::null(), 0),
            plugin.authorize_n_raw(token.as_ptr().cast(), token.len(), view, ptr::null(), 3),
        )
    };
    let untouched = u32::MAX;
    let null_argument = DaguAuthStatus::NullArgument as u32;
    assert_eq!(null_token, (null_argument, untouched));
    assert_eq!(null_workspace, (null_argument, untouched));
    let invalid_utf8 = DaguAuthStatus::InvalidUtf8 as u32;
    assert_eq!(
        plugin.authorize_n(b"\xff\xfe", Action::View, b""),
        (invalid_utf8, untouched)
    );
    assert_eq!(
        plugin.authorize_n(token, Action::View, b"ops\xff"),
        (invalid_utf8, untouched)
    );
}
