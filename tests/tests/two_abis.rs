//! One process loads the built plugin through both of its ABIs, the C functions (libloading) and
//! the abi_stable root module (`dagu_auth_abi::load_plugin`), opens an instance through each on
//! its own folder, runs the same script on both and gets the same statuses and the same JSON (ids,
//! tokens and times aside). A library with another interface is refused with an error.

use std::ffi::{CStr, CString, c_char};
use std::path::{Path, PathBuf};

use abi_stable::library::{RootModule, lib_header_from_path};
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{RResult, RStr, RString};
use abi_stable::{StableAbi, declare_root_module_statics, package_version_strings};
use dagu_auth_abi::{
    AbiAuthorizeRequest, AbiHttpRequest, DaguAuthAction as Action, DaguAuthDecision as Decision,
    DaguAuthStatus as Status, DaguAuthSurface as Surface, InstanceBox, LoadError,
};
use dagu_auth_tests::native::plugin;
use libloading::Library;
use serde_json::{Value, json};
use tempfile::TempDir;

/// A failed call: status and message.
type CallError = (u32, String);
type Answer = Result<String, CallError>;

/// What both faces offer, as plain Rust.
trait Face {
    fn setup_required(&self) -> Result<bool, CallError>;
    fn setup(&self, username: &str, password: &str) -> Answer;
    fn authenticate(&self, username: &str, password: &str, ip: &str) -> Answer;
    fn verify(&self, token: &str) -> Answer;
    fn authorize(&self, token: &str, action: u32, workspace: &str) -> Result<u32, CallError>;
    /// ABI 1.4: `authorize` for a credential that arrived on `surface`.
    fn authorize_on(
        &self,
        token: &str,
        action: u32,
        workspace: &str,
        surface: u32,
    ) -> Result<u32, CallError>;
    fn logout(&self, token: &str) -> Result<(), CallError>;
    fn user_list(&self, token: &str) -> Answer;
    fn user_get(&self, token: &str, id: &str) -> Answer;
    fn user_create(&self, token: &str, json: &str) -> Answer;
    fn user_update(&self, token: &str, id: &str, json: &str) -> Answer;
    fn user_delete(&self, token: &str, id: &str) -> Result<(), CallError>;
    fn reset_password(&self, token: &str, id: &str, password: &str) -> Result<(), CallError>;
    fn change_password(&self, token: &str, current: &str, new: &str) -> Result<(), CallError>;
    fn api_key_create(&self, token: &str, json: &str) -> Answer;
    fn api_key_list(&self, token: &str) -> Answer;
    fn audit_list(&self, token: &str, query: &str) -> Answer;
    fn audit_append(&self, token: &str, entry: &str) -> Result<(), CallError>;
    fn operator(&self, json: &str) -> Answer;
    /// ABI 1.5: the session controls.
    fn authenticate_from(&self, username: &str, password: &str, ip: &str, agent: &str) -> Answer;
    fn session_list(&self, token: &str) -> Answer;
    fn session_end(&self, token: &str, id: &str) -> Result<(), CallError>;
    fn session_end_others(&self, token: &str) -> Answer;
    fn user_end_sessions(&self, token: &str, id: &str) -> Answer;
    fn sign_in(&self, username: &str, password: &str, ip: &str) -> Answer;
    fn login_mfa(&self, mfa_token: &str, code: &str, ip: &str) -> Answer;
    fn totp_setup(&self, token: &str) -> Answer;
    fn totp_confirm(&self, token: &str, code: &str) -> Answer;
    fn totp_disable(&self, token: &str, password: &str, code: &str) -> Result<(), CallError>;
    fn recovery_codes_regenerate(&self, token: &str, code: &str) -> Answer;
    fn user_mfa_reset(&self, token: &str, id: &str) -> Result<(), CallError>;
    /// (status, header names, body)
    fn http(&self, method: &str, path: &str, token: &str, body: &str)
    -> (u16, Vec<String>, String);
}

// ---- the C face, through libloading ----

type Out = *mut *mut c_char;
type Instance = *mut std::ffi::c_void;

struct CFace {
    lib: &'static Library,
    instance: Instance,
}

// SAFETY: the C ABI allows any thread to use an instance; this test uses it from one thread.
unsafe impl Send for CFace {}

fn cstr(text: &str) -> CString {
    CString::new(text).expect("no NUL in test strings")
}

impl CFace {
    fn open(lib: &'static Library, config: &str) -> CFace {
        let open: unsafe extern "C" fn(*const c_char, *mut Instance, Out) -> u32 =
            sym(lib, "dagu_auth_open");
        let mut instance: Instance = std::ptr::null_mut();
        let config = cstr(config);
        // SAFETY: valid pointers for the call.
        let status = unsafe { open(config.as_ptr(), &mut instance, std::ptr::null_mut()) };
        assert_eq!(status, 0, "dagu_auth_open");
        CFace { lib, instance }
    }

    fn take(&self, text: *mut c_char) -> String {
        if text.is_null() {
            return String::new();
        }
        let free: unsafe extern "C" fn(*mut c_char) = sym(self.lib, "dagu_auth_string_free");
        // SAFETY: a string from the library, freed once.
        let owned = unsafe { CStr::from_ptr(text) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: as above.
        unsafe { free(text) };
        owned
    }

    /// Calls `f(out, error)` and returns the output string or the failure.
    fn call(&self, f: impl FnOnce(Out, Out) -> u32) -> Answer {
        let mut out: *mut c_char = std::ptr::null_mut();
        let mut error: *mut c_char = std::ptr::null_mut();
        let status = f(&mut out, &mut error);
        let out = self.take(out);
        let error = self.take(error);
        match status {
            0 => Ok(out),
            _ => Err((status, error)),
        }
    }

    fn call_unit(&self, f: impl FnOnce(Out) -> u32) -> Result<(), CallError> {
        self.call(|_, error| f(error)).map(|_| ())
    }

    /// `name(instance, a, &out, &error)`.
    fn text1(&self, name: &str, a: &str) -> Answer {
        let f: Text1 = sym(self.lib, name);
        let a = cstr(a);
        // SAFETY: the signature of `name` in the header; C strings that outlive the call.
        self.call(|o, e| unsafe { f(self.instance, a.as_ptr(), o, e) })
    }

    /// `name(instance, a, b, &out, &error)`.
    fn text2(&self, name: &str, a: &str, b: &str) -> Answer {
        let f: Text2 = sym(self.lib, name);
        let (a, b) = (cstr(a), cstr(b));
        // SAFETY: as in `text1`.
        self.call(|o, e| unsafe { f(self.instance, a.as_ptr(), b.as_ptr(), o, e) })
    }

    /// `name(instance, a, b, c, &out, &error)`.
    fn text3(&self, name: &str, a: &str, b: &str, c: &str) -> Answer {
        let f: Text3 = sym(self.lib, name);
        let (a, b, c) = (cstr(a), cstr(b), cstr(c));
        // SAFETY: as in `text1`.
        self.call(|o, e| unsafe { f(self.instance, a.as_ptr(), b.as_ptr(), c.as_ptr(), o, e) })
    }

    /// `name(instance, a, &error)`.
    fn unit1(&self, name: &str, a: &str) -> Result<(), CallError> {
        let f: Unit1 = sym(self.lib, name);
        let a = cstr(a);
        // SAFETY: as in `text1`.
        self.call_unit(|e| unsafe { f(self.instance, a.as_ptr(), e) })
    }

    /// `name(instance, a, b, &error)`.
    fn unit2(&self, name: &str, a: &str, b: &str) -> Result<(), CallError> {
        let f: Unit2 = sym(self.lib, name);
        let (a, b) = (cstr(a), cstr(b));
        // SAFETY: as in `text1`.
        self.call_unit(|e| unsafe { f(self.instance, a.as_ptr(), b.as_ptr(), e) })
    }

    /// `name(instance, a, b, c, &error)`.
    fn unit3(&self, name: &str, a: &str, b: &str, c: &str) -> Result<(), CallError> {
        let f: Unit3 = sym(self.lib, name);
        let (a, b, c) = (cstr(a), cstr(b), cstr(c));
        // SAFETY: as in `text1`.
        self.call_unit(|e| unsafe { f(self.instance, a.as_ptr(), b.as_ptr(), c.as_ptr(), e) })
    }
}

fn sym<T: Copy>(lib: &'static Library, name: &str) -> T {
    // SAFETY: each caller states the function's C signature.
    match unsafe { lib.get::<T>(name.as_bytes()) } {
        Ok(f) => *f,
        Err(e) => panic!(
            "no {name}: {e}: {:?}",
            std::error::Error::source(&e).map(ToString::to_string)
        ),
    }
}

type Text1 = unsafe extern "C" fn(Instance, *const c_char, Out, Out) -> u32;
type Text2 = unsafe extern "C" fn(Instance, *const c_char, *const c_char, Out, Out) -> u32;
type Text3 =
    unsafe extern "C" fn(Instance, *const c_char, *const c_char, *const c_char, Out, Out) -> u32;
type Text4 = unsafe extern "C" fn(
    Instance,
    *const c_char,
    *const c_char,
    *const c_char,
    *const c_char,
    Out,
    Out,
) -> u32;
type Unit1 = unsafe extern "C" fn(Instance, *const c_char, Out) -> u32;
type Unit2 = unsafe extern "C" fn(Instance, *const c_char, *const c_char, Out) -> u32;
type Unit3 =
    unsafe extern "C" fn(Instance, *const c_char, *const c_char, *const c_char, Out) -> u32;

#[repr(C)]
struct CHeader {
    name: *const c_char,
    value: *const c_char,
}

#[repr(C)]
struct CRequest {
    struct_size: u32,
    method: *const c_char,
    path: *const c_char,
    headers: *const CHeader,
    header_count: usize,
    body: *const u8,
    body_len: usize,
    client_ip: *const c_char,
}

/// `DaguAuthAuthorizeRequest` as include/dagu_auth.h declares it (ABI 1.4).
#[repr(C)]
#[derive(Clone, Copy)]
struct CAuthorizeRequest {
    struct_size: usize,
    token: *const c_char,
    token_len: usize,
    action: u32,
    workspace: *const c_char,
    workspace_len: usize,
    surface: u32,
}

type AuthorizeRequestFn =
    unsafe extern "C" fn(Instance, *const CAuthorizeRequest, *mut u32, Out) -> u32;

impl CAuthorizeRequest {
    /// A request over `token` and `workspace`, which must outlive its use.
    fn new(token: &str, action: u32, workspace: &str, surface: u32) -> Self {
        Self {
            struct_size: size_of::<Self>(),
            token: token.as_ptr().cast(),
            token_len: token.len(),
            action,
            workspace: workspace.as_ptr().cast(),
            workspace_len: workspace.len(),
            surface,
        }
    }
}

#[repr(C)]
struct CResponse {
    status: u16,
    headers: *const CHeader,
    header_count: usize,
    body: *const u8,
    body_len: usize,
}

impl Face for CFace {
    fn setup_required(&self) -> Result<bool, CallError> {
        let f: unsafe extern "C" fn(Instance, *mut bool, Out) -> u32 =
            sym(self.lib, "dagu_auth_setup_required");
        let mut required = false;
        // SAFETY: valid pointers.
        self.call_unit(|e| unsafe { f(self.instance, &mut required, e) })
            .map(|()| required)
    }
    fn setup(&self, username: &str, password: &str) -> Answer {
        self.text2("dagu_auth_setup", username, password)
    }
    fn authenticate(&self, username: &str, password: &str, ip: &str) -> Answer {
        self.text3("dagu_auth_authenticate", username, password, ip)
    }
    fn verify(&self, token: &str) -> Answer {
        self.text1("dagu_auth_verify", token)
    }
    fn authorize(&self, token: &str, action: u32, workspace: &str) -> Result<u32, CallError> {
        let f: unsafe extern "C" fn(
            Instance,
            *const c_char,
            u32,
            *const c_char,
            *mut u32,
            Out,
        ) -> u32 = sym(self.lib, "dagu_auth_authorize");
        let (t, w) = (cstr(token), cstr(workspace));
        let mut decision = 0;
        // SAFETY: valid pointers.
        self.call_unit(|e| unsafe {
            f(
                self.instance,
                t.as_ptr(),
                action,
                w.as_ptr(),
                &mut decision,
                e,
            )
        })
        .map(|()| decision)
    }
    fn authorize_on(
        &self,
        token: &str,
        action: u32,
        workspace: &str,
        surface: u32,
    ) -> Result<u32, CallError> {
        let request = CAuthorizeRequest::new(token, action, workspace, surface);
        // SAFETY: the request's strings outlive the call.
        unsafe { self.authorize_request(&request) }
    }
    fn logout(&self, token: &str) -> Result<(), CallError> {
        self.unit1("dagu_auth_logout", token)
    }
    fn user_list(&self, token: &str) -> Answer {
        self.text1("dagu_auth_user_list", token)
    }
    fn user_get(&self, token: &str, id: &str) -> Answer {
        self.text2("dagu_auth_user_get", token, id)
    }
    fn user_create(&self, token: &str, json: &str) -> Answer {
        self.text2("dagu_auth_user_create", token, json)
    }
    fn user_update(&self, token: &str, id: &str, json: &str) -> Answer {
        self.text3("dagu_auth_user_update", token, id, json)
    }
    fn user_delete(&self, token: &str, id: &str) -> Result<(), CallError> {
        self.unit2("dagu_auth_user_delete", token, id)
    }
    fn reset_password(&self, token: &str, id: &str, password: &str) -> Result<(), CallError> {
        self.unit3("dagu_auth_user_reset_password", token, id, password)
    }
    fn change_password(&self, token: &str, current: &str, new: &str) -> Result<(), CallError> {
        self.unit3("dagu_auth_change_password", token, current, new)
    }
    fn api_key_create(&self, token: &str, json: &str) -> Answer {
        self.text2("dagu_auth_api_key_create", token, json)
    }
    fn api_key_list(&self, token: &str) -> Answer {
        self.text1("dagu_auth_api_key_list", token)
    }
    fn audit_list(&self, token: &str, query: &str) -> Answer {
        self.text2("dagu_auth_audit_list", token, query)
    }
    fn audit_append(&self, token: &str, entry: &str) -> Result<(), CallError> {
        self.unit2("dagu_auth_audit_append", token, entry)
    }
    fn operator(&self, json: &str) -> Answer {
        self.text1("dagu_auth_operator", json)
    }
    fn authenticate_from(&self, username: &str, password: &str, ip: &str, agent: &str) -> Answer {
        let f: Text4 = sym(self.lib, "dagu_auth_authenticate_from");
        let (a, b, c, d) = (cstr(username), cstr(password), cstr(ip), cstr(agent));
        // SAFETY: the signature in the header; C strings that outlive the call.
        self.call(|o, e| unsafe {
            f(
                self.instance,
                a.as_ptr(),
                b.as_ptr(),
                c.as_ptr(),
                d.as_ptr(),
                o,
                e,
            )
        })
    }
    fn session_list(&self, token: &str) -> Answer {
        self.text1("dagu_auth_session_list", token)
    }
    fn session_end(&self, token: &str, id: &str) -> Result<(), CallError> {
        self.unit2("dagu_auth_session_end", token, id)
    }
    fn session_end_others(&self, token: &str) -> Answer {
        self.text1("dagu_auth_session_end_others", token)
    }
    fn user_end_sessions(&self, token: &str, id: &str) -> Answer {
        self.text2("dagu_auth_user_end_sessions", token, id)
    }
    fn sign_in(&self, username: &str, password: &str, ip: &str) -> Answer {
        self.text3("dagu_auth_sign_in", username, password, ip)
    }
    fn login_mfa(&self, mfa_token: &str, code: &str, ip: &str) -> Answer {
        self.text3("dagu_auth_login_mfa", mfa_token, code, ip)
    }
    fn totp_setup(&self, token: &str) -> Answer {
        self.text1("dagu_auth_totp_setup", token)
    }
    fn totp_confirm(&self, token: &str, code: &str) -> Answer {
        self.text2("dagu_auth_totp_confirm", token, code)
    }
    fn totp_disable(&self, token: &str, password: &str, code: &str) -> Result<(), CallError> {
        self.unit3("dagu_auth_totp_disable", token, password, code)
    }
    fn recovery_codes_regenerate(&self, token: &str, code: &str) -> Answer {
        self.text2("dagu_auth_recovery_codes_regenerate", token, code)
    }
    fn user_mfa_reset(&self, token: &str, id: &str) -> Result<(), CallError> {
        self.unit2("dagu_auth_user_mfa_reset", token, id)
    }
    fn http(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: &str,
    ) -> (u16, Vec<String>, String) {
        let handle: unsafe extern "C" fn(Instance, *const CRequest, *mut *mut CResponse) -> u32 =
            sym(self.lib, "dagu_auth_handle_http");
        let free: unsafe extern "C" fn(*mut CResponse) =
            sym(self.lib, "dagu_auth_http_response_free");
        let (m, p, ip) = (cstr(method), cstr(path), cstr("192.0.2.1"));
        let (auth_name, auth_value) = (cstr("Authorization"), cstr(&format!("Bearer {token}")));
        let (type_name, type_value) = (cstr("Content-Type"), cstr("application/json"));
        let headers = [
            CHeader {
                name: auth_name.as_ptr(),
                value: auth_value.as_ptr(),
            },
            CHeader {
                name: type_name.as_ptr(),
                value: type_value.as_ptr(),
            },
        ];
        let request = CRequest {
            struct_size: size_of::<CRequest>() as u32,
            method: m.as_ptr(),
            path: p.as_ptr(),
            headers: headers.as_ptr(),
            header_count: headers.len(),
            body: body.as_ptr(),
            body_len: body.len(),
            client_ip: ip.as_ptr(),
        };
        let mut response: *mut CResponse = std::ptr::null_mut();
        // SAFETY: every pointer in `request` lives until the call returns.
        let status = unsafe { handle(self.instance, &request, &mut response) };
        assert_eq!(status, 0, "dagu_auth_handle_http");
        // SAFETY: written on OK; freed once below.
        let answer = unsafe {
            let r = &*response;
            let names = (0..r.header_count)
                .map(|i| {
                    CStr::from_ptr((*r.headers.add(i)).name)
                        .to_string_lossy()
                        .to_ascii_lowercase()
                })
                .collect();
            let body = match r.body_len {
                0 => String::new(),
                n => String::from_utf8_lossy(std::slice::from_raw_parts(r.body, n)).into_owned(),
            };
            (r.status, names, body)
        };
        // SAFETY: from handle_http, freed once.
        unsafe { free(response) };
        answer
    }
}

impl CFace {
    /// `dagu_auth_authorize_request` on `request` as given.
    ///
    /// # Safety
    /// `request` is NULL or points to `struct_size` readable bytes whose strings are valid.
    unsafe fn authorize_request(
        &self,
        request: *const CAuthorizeRequest,
    ) -> Result<u32, CallError> {
        let f: AuthorizeRequestFn = sym(self.lib, "dagu_auth_authorize_request");
        let mut decision = 0;
        // SAFETY: forwarded contract.
        self.call_unit(|e| unsafe { f(self.instance, request, &mut decision, e) })
            .map(|()| decision)
    }
}

impl Drop for CFace {
    fn drop(&mut self) {
        let close: unsafe extern "C" fn(Instance) = sym(self.lib, "dagu_auth_close");
        // SAFETY: from dagu_auth_open, closed once.
        unsafe { close(self.instance) };
    }
}

// ---- the Rust face, through abi_stable ----

struct RustFace(InstanceBox);

fn answer<T>(result: RResult<T, dagu_auth_abi::AbiError>) -> Result<T, CallError> {
    result
        .into_result()
        .map_err(|e| (e.status, e.message.into_string()))
}

fn text(result: RResult<RString, dagu_auth_abi::AbiError>) -> Answer {
    answer(result).map(RString::into_string)
}

impl Face for RustFace {
    fn setup_required(&self) -> Result<bool, CallError> {
        answer(self.0.setup_required())
    }
    fn setup(&self, username: &str, password: &str) -> Answer {
        text(self.0.setup(username.into(), password.into()))
    }
    fn authenticate(&self, username: &str, password: &str, ip: &str) -> Answer {
        text(
            self.0
                .authenticate(username.into(), password.into(), ip.into()),
        )
    }
    fn verify(&self, token: &str) -> Answer {
        text(self.0.verify(token.into()))
    }
    fn authorize(&self, token: &str, action: u32, workspace: &str) -> Result<u32, CallError> {
        answer(self.0.authorize(token.into(), action, workspace.into()))
    }
    fn authorize_on(
        &self,
        token: &str,
        action: u32,
        workspace: &str,
        surface: u32,
    ) -> Result<u32, CallError> {
        let request = AbiAuthorizeRequest {
            token: token.into(),
            action,
            workspace: workspace.into(),
            surface,
        };
        answer(self.0.authorize_request(&request))
    }
    fn logout(&self, token: &str) -> Result<(), CallError> {
        answer(self.0.logout(token.into()))
    }
    fn user_list(&self, token: &str) -> Answer {
        text(self.0.user_list(token.into()))
    }
    fn user_get(&self, token: &str, id: &str) -> Answer {
        text(self.0.user_get(token.into(), id.into()))
    }
    fn user_create(&self, token: &str, json: &str) -> Answer {
        text(self.0.user_create(token.into(), json.into()))
    }
    fn user_update(&self, token: &str, id: &str, json: &str) -> Answer {
        text(self.0.user_update(token.into(), id.into(), json.into()))
    }
    fn user_delete(&self, token: &str, id: &str) -> Result<(), CallError> {
        answer(self.0.user_delete(token.into(), id.into()))
    }
    fn reset_password(&self, token: &str, id: &str, password: &str) -> Result<(), CallError> {
        answer(
            self.0
                .user_reset_password(token.into(), id.into(), password.into()),
        )
    }
    fn change_password(&self, token: &str, current: &str, new: &str) -> Result<(), CallError> {
        answer(
            self.0
                .change_password(token.into(), current.into(), new.into()),
        )
    }
    fn api_key_create(&self, token: &str, json: &str) -> Answer {
        text(self.0.api_key_create(token.into(), json.into()))
    }
    fn api_key_list(&self, token: &str) -> Answer {
        text(self.0.api_key_list(token.into()))
    }
    fn audit_list(&self, token: &str, query: &str) -> Answer {
        text(self.0.audit_list(token.into(), query.into()))
    }
    fn audit_append(&self, token: &str, entry: &str) -> Result<(), CallError> {
        answer(self.0.audit_append(token.into(), entry.into()))
    }
    fn operator(&self, json: &str) -> Answer {
        text(self.0.operator(json.into()))
    }
    fn authenticate_from(&self, username: &str, password: &str, ip: &str, agent: &str) -> Answer {
        text(
            self.0
                .authenticate_from(username.into(), password.into(), ip.into(), agent.into()),
        )
    }
    fn session_list(&self, token: &str) -> Answer {
        text(self.0.session_list(token.into()))
    }
    fn session_end(&self, token: &str, id: &str) -> Result<(), CallError> {
        answer(self.0.session_end(token.into(), id.into()))
    }
    fn session_end_others(&self, token: &str) -> Answer {
        text(self.0.session_end_others(token.into()))
    }
    fn user_end_sessions(&self, token: &str, id: &str) -> Answer {
        text(self.0.user_end_sessions(token.into(), id.into()))
    }
    fn sign_in(&self, username: &str, password: &str, ip: &str) -> Answer {
        text(self.0.sign_in(username.into(), password.into(), ip.into()))
    }
    fn login_mfa(&self, mfa_token: &str, code: &str, ip: &str) -> Answer {
        text(self.0.login_mfa(mfa_token.into(), code.into(), ip.into()))
    }
    fn totp_setup(&self, token: &str) -> Answer {
        text(self.0.totp_setup(token.into()))
    }
    fn totp_confirm(&self, token: &str, code: &str) -> Answer {
        text(self.0.totp_confirm(token.into(), code.into()))
    }
    fn totp_disable(&self, token: &str, password: &str, code: &str) -> Result<(), CallError> {
        answer(
            self.0
                .totp_disable(token.into(), password.into(), code.into()),
        )
    }
    fn recovery_codes_regenerate(&self, token: &str, code: &str) -> Answer {
        text(self.0.recovery_codes_regenerate(token.into(), code.into()))
    }
    fn user_mfa_reset(&self, token: &str, id: &str) -> Result<(), CallError> {
        answer(self.0.user_mfa_reset(token.into(), id.into()))
    }
    fn http(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: &str,
    ) -> (u16, Vec<String>, String) {
        let request = AbiHttpRequest {
            method: method.into(),
            path: path.into(),
            headers: vec![
                ("Authorization".into(), format!("Bearer {token}").into()).into(),
                ("Content-Type".into(), "application/json".into()).into(),
            ]
            .into(),
            body: body.as_bytes().to_vec().into(),
            client_ip: "192.0.2.1".into(),
        };
        let response = self.0.handle_http(&request);
        let names = response
            .headers
            .iter()
            .map(|pair| pair.0.as_str().to_ascii_lowercase())
            .collect();
        let body = String::from_utf8_lossy(&response.body).into_owned();
        (response.status, names, body)
    }
}

// ---- comparing ----

/// JSON with the values that differ between two instances (ids, tokens, times, keys) replaced by
/// their type, so two answers compare equal exactly when their statuses, shapes and all other
/// values agree.
fn normalize(text: &str) -> Value {
    fn walk(value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, v) in map.iter_mut() {
                    let volatile = matches!(
                        key.as_str(),
                        "id" | "token"
                            | "key"
                            | "keyPrefix"
                            | "expiresAt"
                            | "createdAt"
                            | "updatedAt"
                            | "lastUsedAt"
                            | "createdBy"
                            | "time"
                            | "timestamp"
                            | "nextCursor"
                            | "resourceId"
                            | "credentialId"
                            | "details"
                            | "actorId"
                            | "targetId"
                            | "target"
                            | "actor"
                            | "subject"
                            | "userId"
                            | "serviceAccountId"
                            | "ownerUserId"
                    );
                    match (volatile, &v) {
                        (true, Value::String(_)) => *v = Value::String("<string>".into()),
                        (true, Value::Number(_)) => *v = Value::String("<number>".into()),
                        _ => walk(v),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    match serde_json::from_str::<Value>(text) {
        Ok(mut value) => {
            walk(&mut value);
            value
        }
        Err(_) => Value::String(text.to_owned()),
    }
}

fn field(text: &str, pointer: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| {
            v.pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("{pointer} missing in {text}"))
}

/// Which face a step runs on, to pick that face's own tokens and ids.
#[derive(Clone, Copy)]
enum Side {
    C,
    Rust,
}

/// A value per face (tokens and ids differ between the two instances).
struct Pair(String, String);

impl Pair {
    /// The string at `pointer` in each face's successful answer to one step.
    #[track_caller]
    fn from_answers(answers: (Answer, Answer), pointer: &str) -> Pair {
        let (c, rust) = answers;
        Pair(
            field(&c.expect("the C answer"), pointer),
            field(&rust.expect("the Rust answer"), pointer),
        )
    }

    fn of(&self, side: Side) -> &str {
        match side {
            Side::C => &self.0,
            Side::Rust => &self.1,
        }
    }
}

/// Runs one step on both faces and checks the answers agree.
fn same<T, F>(step: &str, c: &CFace, rust: &RustFace, f: F)
where
    F: Fn(&dyn Face, Side) -> T,
    T: Comparable,
{
    let _ = both(step, c, rust, f);
}

/// Runs one step on both faces and checks the answers agree; returns both answers.
fn both<T, F>(step: &str, c: &CFace, rust: &RustFace, f: F) -> (T, T)
where
    F: Fn(&dyn Face, Side) -> T,
    T: Comparable,
{
    let (a, b) = (f(c, Side::C), f(rust, Side::Rust));
    assert_eq!(
        a.comparable(),
        b.comparable(),
        "{step}: the C and Rust ABIs disagree"
    );
    (a, b)
}

trait Comparable {
    fn comparable(&self) -> String;
}

impl Comparable for Answer {
    fn comparable(&self) -> String {
        match self {
            Ok(text) => format!("ok {}", normalize(text)),
            // Messages are compared too: both faces map the same Engine error.
            Err((status, message)) => format!("error {status} {message}"),
        }
    }
}

impl Comparable for Result<(), CallError> {
    fn comparable(&self) -> String {
        format!("{self:?}")
    }
}

impl Comparable for Result<bool, CallError> {
    fn comparable(&self) -> String {
        format!("{self:?}")
    }
}

impl Comparable for Result<u32, CallError> {
    fn comparable(&self) -> String {
        format!("{self:?}")
    }
}

impl Comparable for (u16, Vec<String>, String) {
    fn comparable(&self) -> String {
        let mut names = self.1.clone();
        names.sort();
        format!("{} {names:?} {}", self.0, normalize(&self.2))
    }
}

fn config(dir: &Path) -> String {
    serde_json::json!({
        "dataDir": dir,
        "licenseFeatures": ["rbac", "audit"],
        "argon2": {"memoryKib": 64, "iterations": 1, "parallelism": 1},
    })
    .to_string()
}

fn load_c(path: &Path) -> &'static Library {
    // SAFETY: loading the plugin runs no initialisers with preconditions.
    let lib = unsafe { Library::new(path) }.expect("load the plugin through libloading");
    // Never unloaded: a Rust cdylib that registered thread-local destructors stays mapped after
    // `dlclose` on glibc (README, "Using the plugin from C and Go").
    Box::leak(Box::new(lib))
}

/// One instance through each ABI, each on a data folder of its own (dropped after the instances).
struct Faces {
    c: CFace,
    rust: RustFace,
    _dirs: (TempDir, TempDir),
}

fn open_both() -> Faces {
    let path = plugin();
    let module = dagu_auth_abi::load_plugin(path).expect("load the plugin through abi_stable");
    let lib = load_c(path);
    let (dir_c, dir_rust) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let c = CFace::open(lib, &config(dir_c.path()));
    let rust = RustFace(
        module.open()(RStr::from_str(&config(dir_rust.path())))
            .into_result()
            .expect("open through abi_stable"),
    );
    Faces {
        c,
        rust,
        _dirs: (dir_c, dir_rust),
    }
}

#[test]
fn both_abis_in_one_process_give_the_same_answers() {
    let faces = open_both();
    let (c, rust) = (&faces.c, &faces.rust);

    same("setup_required", c, rust, |f, _| f.setup_required());
    same("setup with a short password", c, rust, |f, _| {
        f.setup("admin", "short")
    });
    let setup = both("setup", c, rust, |f, _| {
        f.setup("admin", "admin password 1")
    });
    let token = Pair::from_answers(setup, "/token");
    same("second setup", c, rust, |f, _| {
        f.setup("other", "admin password 1")
    });
    same("setup_required after setup", c, rust, |f, _| {
        f.setup_required()
    });
    same("wrong password", c, rust, |f, _| {
        f.authenticate("admin", "wrong password", "192.0.2.1")
    });
    same("sign-in", c, rust, |f, _| {
        f.authenticate("ADMIN", "admin password 1", "")
    });

    same("verify", c, rust, |f, s| f.verify(token.of(s)));
    same("verify junk", c, rust, |f, _| f.verify("junk"));

    let scoped = r#"{"username":"scoped","password":"scoped password 1","role":"viewer",
        "workspaceAccess":{"all":false,"grants":[{"workspace":"ops","role":"developer"},
        {"workspace":"qa","role":"viewer"}]}}"#;
    let created = both("user_create", c, rust, |f, s| {
        f.user_create(token.of(s), scoped)
    });
    let id = Pair::from_answers(created, "/user/id");
    same("duplicate user", c, rust, |f, s| {
        f.user_create(token.of(s), scoped)
    });
    same("malformed JSON", c, rust, |f, s| {
        f.user_create(token.of(s), "{")
    });
    same("wrongly typed JSON", c, rust, |f, s| {
        f.user_create(token.of(s), r#"{"username":1}"#)
    });
    same("bad role", c, rust, |f, s| {
        f.user_create(
            token.of(s),
            r#"{"username":"x","password":"long enough 1","role":"emperor"}"#,
        )
    });

    let scoped_login = both("scoped sign-in", c, rust, |f, _| {
        f.authenticate("scoped", "scoped password 1", "")
    });
    let scoped_token = Pair::from_answers(scoped_login, "/token");
    for action in 0..=6 {
        for workspace in ["", "ops", "qa", "secret"] {
            same("authorize admin", c, rust, |f, s| {
                f.authorize(token.of(s), action, workspace)
            });
            same("authorize scoped", c, rust, |f, s| {
                f.authorize(scoped_token.of(s), action, workspace)
            });
            same("authorize junk", c, rust, |f, _| {
                f.authorize("junk", action, workspace)
            });
        }
    }

    same("user_list", c, rust, |f, s| f.user_list(token.of(s)));
    same("user_list as viewer", c, rust, |f, s| {
        f.user_list(scoped_token.of(s))
    });
    same("user_get", c, rust, |f, s| {
        f.user_get(token.of(s), id.of(s))
    });
    same("user_get unknown", c, rust, |f, s| {
        f.user_get(token.of(s), "nope")
    });
    same("user_update", c, rust, |f, s| {
        f.user_update(token.of(s), id.of(s), r#"{"username":"scoped2"}"#)
    });
    same("user_update typed", c, rust, |f, s| {
        f.user_update(token.of(s), id.of(s), r#"{"isDisabled":1}"#)
    });
    same("reset_password", c, rust, |f, s| {
        f.reset_password(token.of(s), id.of(s), "reset password 1")
    });
    same("old session after reset", c, rust, |f, s| {
        f.verify(scoped_token.of(s))
    });
    same("change_password wrong", c, rust, |f, s| {
        f.change_password(token.of(s), "wrong", "admin password 2")
    });
    same("api_key_create", c, rust, |f, s| {
        let key = r#"{"name":"ci","role":"operator","allowedSurfaces":["rest_api"],
            "attributionClass":"service_account"}"#;
        f.api_key_create(token.of(s), key)
    });
    same("api_key_create without surfaces", c, rust, |f, s| {
        f.api_key_create(token.of(s), r#"{"name":"k","role":"operator"}"#)
    });
    same("api_key_list", c, rust, |f, s| f.api_key_list(token.of(s)));
    same("audit_list", c, rust, |f, s| {
        f.audit_list(token.of(s), r#"{"limit":3}"#)
    });
    same("audit_list bad", c, rust, |f, s| {
        f.audit_list(token.of(s), r#"{"limit":"x"}"#)
    });
    same("audit_list bad time", c, rust, |f, s| {
        f.audit_list(token.of(s), r#"{"startTime":"x"}"#)
    });
    let dag_start = r#"{"category":"dag","action":"dag_execute","resourceType":"dag","resourceId":"nightly","workspace":"ops","details":{"dag_name":"nightly"}}"#;
    same("audit_append", c, rust, |f, s| {
        f.audit_append(token.of(s), dag_start)
    });
    same("audit_append as the host", c, rust, |f, _| {
        f.audit_append(
            "",
            r#"{"category":"system","action":"host_start","surface":"mcp"}"#,
        )
    });
    same("audit_append reserved", c, rust, |f, s| {
        f.audit_append(token.of(s), r#"{"category":"user","action":"login"}"#)
    });
    same("audit_append malformed", c, rust, |f, s| {
        f.audit_append(token.of(s), r#"{"category":"dag"}"#)
    });
    same("audit_append bad token", c, rust, |f, _| {
        f.audit_append("junk", dag_start)
    });
    for filter in [
        "category",
        "action",
        "source",
        "surface",
        "result",
        "correlationId",
        "resourceType",
        "resourceId",
        "workspace",
        "credentialId",
        "credentialType",
        "mcpTool",
        "ipAddress",
        "userId",
    ] {
        for value in [
            "dag",
            "dag_execute",
            "rest",
            "mcp",
            "succeeded",
            "nightly",
            "ops",
            "jwt",
        ] {
            same("audit_list filtered", c, rust, |f, s| {
                f.audit_list(token.of(s), &json!({filter: value}).to_string())
            });
        }
    }
    same("operator list", c, rust, |f, _| {
        f.operator(r#"{"command":"users.list"}"#)
    });
    same("operator unknown", c, rust, |f, _| {
        f.operator(r#"{"command":"nope"}"#)
    });
    same("http me", c, rust, |f, s| {
        f.http("GET", "/api/v1/auth/me", token.of(s), "")
    });
    same("http users", c, rust, |f, s| {
        f.http("GET", "/api/v1/users", token.of(s), "")
    });
    same("http bad body", c, rust, |f, s| {
        f.http("POST", "/api/v1/users", token.of(s), "{")
    });
    same("http no route", c, rust, |f, s| {
        f.http("GET", "/api/v1/nope", token.of(s), "")
    });
    same("http no token", c, rust, |f, _| {
        f.http("GET", "/api/v1/users", "", "")
    });
    same("user_delete", c, rust, |f, s| {
        f.user_delete(token.of(s), id.of(s))
    });
    same("user_delete again", c, rust, |f, s| {
        f.user_delete(token.of(s), id.of(s))
    });
    same("change_password", c, rust, |f, s| {
        f.change_password(token.of(s), "admin password 1", "admin password 2")
    });
    same("session after change", c, rust, |f, s| {
        f.verify(token.of(s))
    });
    let login = both("sign-in again", c, rust, |f, _| {
        f.authenticate("admin", "admin password 2", "")
    });
    let fresh = Pair::from_answers(login, "/token");
    same("logout", c, rust, |f, s| f.logout(fresh.of(s)));
    same("after logout", c, rust, |f, s| f.verify(fresh.of(s)));
    same("logout again", c, rust, |f, s| f.logout(fresh.of(s)));
}

/// `user_list` answers Dagu's `UsersListResponse` (no provider manages roles or access without
/// SSO), and `user_create` ignores unknown fields at every level, through each ABI alike.
#[test]
fn user_lists_and_unknown_fields_follow_dagu_through_both_abis() {
    let faces = open_both();
    let (c, rust) = (&faces.c, &faces.rust);
    let setup = both("setup", c, rust, |f, _| {
        f.setup("admin", "admin password 1")
    });
    let admin = Pair::from_answers(setup, "/token");
    let with_unknown_fields = r#"{"username":"bob","password":"bob password 1","role":"viewer",
        "email":"bob@example.com","workspaceAccess":{"all":false,"syncedFrom":"oidc",
        "grants":[{"workspace":"ops","role":"developer","inherited":{"from":"team"}}]}}"#;
    let created = both("user_create with unknown fields", c, rust, |f, s| {
        f.user_create(admin.of(s), with_unknown_fields)
    });
    let lists = both("user_list", c, rust, |f, s| f.user_list(admin.of(s)));
    for (user, list) in [(created.0, lists.0), (created.1, lists.1)] {
        let user: Value = serde_json::from_str(&user.expect("created")).expect("JSON");
        assert_eq!(
            user["user"]["workspaceAccess"],
            serde_json::json!({"all": false, "grants": [{"workspace": "ops", "role": "developer"}]})
        );
        let list: Value = serde_json::from_str(&list.expect("listed")).expect("JSON");
        assert_eq!(list["users"].as_array().map(Vec::len), Some(2), "{list}");
        assert_eq!(
            list["managedRoleProviders"],
            serde_json::json!([]),
            "{list}"
        );
        assert_eq!(
            list["managedWorkspaceAccessProviders"],
            serde_json::json!([]),
            "{list}"
        );
        assert_eq!(list["oidcWorkspaceAccessSyncEnabled"], false, "{list}");
    }
}

/// Two-factor sign-in through each ABI (its secrets differ per instance, so each face runs the
/// whole story on its own): `authenticate` refuses with the message, `sign_in` reports the second
/// step, `login_mfa` finishes it, and the setup, recovery-code, disable and reset calls work.
/// Codes come from `oathtool`.
#[test]
fn two_factor_sign_in_is_reported_and_finished_through_both_abis() {
    use dagu_auth_tests::oath::totp_code;
    let faces = open_both();
    for face in [&faces.c as &dyn Face, &faces.rust as &dyn Face] {
        let value =
            |answer: Answer| -> Value { serde_json::from_str(&answer.expect("OK")).expect("JSON") };
        let admin = value(face.setup("admin", "admin password 1"))["token"]
            .as_str()
            .expect("token")
            .to_owned();
        let bob = value(face.user_create(
            &admin,
            r#"{"username":"bob","password":"bob password 1","role":"developer"}"#,
        ))["user"]["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let session = value(face.sign_in("bob", "bob password 1", ""))["token"]
            .as_str()
            .expect("a session without TOTP")
            .to_owned();
        let setup = value(face.totp_setup(&session));
        let secret = setup["secret"].as_str().expect("secret").to_owned();
        let Some(code) = totp_code(&secret, 0) else {
            return;
        };
        let codes = value(face.totp_confirm(&session, &code));
        assert_eq!(codes["recoveryCodes"].as_array().map(Vec::len), Some(10));

        let refused = face.authenticate("bob", "bob password 1", "");
        let (code_status, message) = refused.expect_err("authenticate refuses");
        assert_eq!(code_status, Status::Unauthenticated as u32);
        assert!(
            message.starts_with("Two-factor authentication required"),
            "{message}"
        );
        let step = value(face.sign_in("bob", "bob password 1", ""));
        assert_eq!(step["code"], "mfa_required");
        let mfa_token = step["mfaToken"].as_str().expect("mfaToken");
        let next = totp_code(&secret, 30).expect("oathtool");
        let login = value(face.login_mfa(mfa_token, &next, ""));
        assert_eq!(login["user"]["mfaEnabled"], true);
        let bob_token = login["token"].as_str().expect("token");
        assert!(
            face.login_mfa(mfa_token, &next, "").is_err(),
            "a spent token"
        );

        let fresh = value(face.recovery_codes_regenerate(
            bob_token,
            codes["recoveryCodes"][0].as_str().expect("code"),
        ));
        let recovery = fresh["recoveryCodes"][0].as_str().expect("code");
        assert_eq!(
            face.totp_disable(bob_token, "wrong password 1", recovery)
                .map_err(|e| e.0),
            Err(Status::Unauthenticated as u32)
        );
        face.totp_disable(bob_token, "bob password 1", recovery)
            .expect("turned off");
        // On again, then the admin's reset ends bob's sessions.
        let setup = value(face.totp_setup(bob_token));
        let secret = setup["secret"].as_str().expect("secret");
        face.totp_confirm(bob_token, &totp_code(secret, 0).expect("oathtool"))
            .expect("on again");
        face.user_mfa_reset(&admin, &bob).expect("reset");
        assert!(
            face.verify(bob_token).is_err(),
            "the reset ended bob's session"
        );
    }
}

/// The edge cases of `authorize` the README states ("Authorization edge cases"), through both ABIs.
#[test]
fn authorize_edge_cases_give_the_documented_decisions_through_both_abis() {
    let faces = open_both();
    let (c, rust) = (&faces.c, &faces.rust);
    let setup = both("setup", c, rust, |f, _| {
        f.setup("admin", "admin password 1")
    });
    let admin = Pair::from_answers(setup, "/token");
    let scoped_user = r#"{"username":"scoped","password":"scoped password 1","role":"viewer",
        "workspaceAccess":{"all":false,"grants":[{"workspace":"ops","role":"developer"}]}}"#;
    same("create the scoped user", c, rust, |f, s| {
        f.user_create(admin.of(s), scoped_user)
    });
    let login = both("scoped sign-in", c, rust, |f, _| {
        f.authenticate("scoped", "scoped password 1", "")
    });
    let scoped = Pair::from_answers(login, "/token");

    let (view, write) = (Action::View as u32, Action::Write as u32);
    let (audit, admin_action) = (Action::Audit as u32, Action::Admin as u32);
    let (allow, forbidden, not_visible) = (
        Decision::Allow as u32,
        Decision::Forbidden as u32,
        Decision::NotVisible as u32,
    );
    let check = |token: &Pair, action: u32, workspace: &str, expected: u32| {
        let step = format!("authorize action {action} in {workspace:?}");
        let (decision, _) = both(&step, c, rust, |f, s| {
            f.authorize(token.of(s), action, workspace)
        });
        assert_eq!(decision, Ok(expected), "{step}");
    };

    // All workspaces: any name, also one no grant could hold, by the top-level role (admin).
    let long_name = "w".repeat(200);
    for workspace in ["bad name", "ops/prod", &long_name, "OPS", "never-granted"] {
        for action in [view, write, admin_action] {
            check(&admin, action, workspace, allow);
        }
    }
    let scoped_cases = [
        // The grant's role applies in its workspace, matched exactly and case-sensitively.
        (write, "ops", allow),
        (view, "OPS", not_visible),
        (view, "Ops", not_visible),
        (view, "finance", not_visible),
        // AUDIT and ADMIN use the top-level role (viewer): FORBIDDEN, granted or not.
        (audit, "finance", forbidden),
        (admin_action, "finance", forbidden),
        (audit, "ops", forbidden),
    ];
    for (action, workspace, expected) in scoped_cases {
        check(&scoped, action, workspace, expected);
    }
}

/// ABI 1.4: a credential on a surface, through the C request struct and the Rust method. An API
/// key is refused (FORBIDDEN, Dagu's message) on a surface it does not allow; a session token is
/// good on both; the calls before 1.4 and HTTP mean the REST API.
#[test]
fn authorize_on_a_surface_refuses_a_key_without_it_through_both_abis() {
    let faces = open_both();
    let (c, rust) = (&faces.c, &faces.rust);
    let setup = both("setup", c, rust, |f, _| {
        f.setup("admin", "admin password 1")
    });
    let admin = Pair::from_answers(setup, "/token");
    let key_for = |name: &str, surfaces: &str| {
        let request = format!(
            r#"{{"name":"{name}","role":"viewer","allowedSurfaces":{surfaces},
            "attributionClass":"service_account"}}"#
        );
        let created = both(&format!("create {name}"), c, rust, |f, s| {
            f.api_key_create(admin.of(s), &request)
        });
        Pair::from_answers(created, "/key")
    };
    let rest = key_for("rest", r#"["rest_api"]"#);
    let mcp = key_for("mcp", r#"["mcp"]"#);
    let view = Action::View as u32;
    let (on_rest, on_mcp) = (Surface::RestApi as u32, Surface::Mcp as u32);
    let allow = Ok(Decision::Allow as u32);
    let refused = Err((
        Status::Forbidden as u32,
        "API key is not allowed for this surface".to_string(),
    ));
    let check = |name: &str, token: &Pair, surface: u32, expected: &Result<u32, CallError>| {
        let step = format!("{name} on surface {surface}");
        let (decision, _) = both(&step, c, rust, |f, s| {
            f.authorize_on(token.of(s), view, "", surface)
        });
        assert_eq!(&decision, expected, "{step}");
    };
    check("rest key", &rest, on_rest, &allow);
    check("rest key", &rest, on_mcp, &refused);
    check("mcp key", &mcp, on_mcp, &allow);
    check("mcp key", &mcp, on_rest, &refused);
    check("session", &admin, on_rest, &allow);
    check("session", &admin, on_mcp, &allow);
    for surface in [on_rest, on_mcp] {
        let (decision, _) = both("junk key", c, rust, |f, _| {
            f.authorize_on("dagu_junk", view, "", surface)
        });
        assert!(
            matches!(decision, Err((status, _)) if status == Status::Unauthenticated as u32),
            "a bad key is 401 before any surface"
        );
    }
    let (unknown, _) = both("unknown surface", c, rust, |f, s| {
        f.authorize_on(admin.of(s), view, "", 2)
    });
    assert_eq!(
        unknown,
        Err((Status::BadRequest as u32, "unknown surface 2".to_string()))
    );
    // Before 1.4, and over HTTP: the REST API.
    let (old, _) = both("mcp key through authorize", c, rust, |f, s| {
        f.authorize(mcp.of(s), view, "")
    });
    assert_eq!(old, refused);
    let (me, _) = both("mcp key over HTTP", c, rust, |f, s| {
        f.http("GET", "/api/v1/auth/me", mcp.of(s), "")
    });
    assert_eq!(me.0, 403);
    assert!(me.2.contains(r#""code":"forbidden""#), "{}", me.2);
    same("rest key over HTTP", c, rust, |f, s| {
        f.http("GET", "/api/v1/auth/me", rest.of(s), "")
    });
}

/// ABI 1.5: a user lists their sessions and ends one or the others, an admin ends all of a user's,
/// with the same statuses and JSON through both faces.
#[test]
fn session_controls_give_the_same_answers_through_both_abis() {
    let faces = open_both();
    let (c, rust) = (&faces.c, &faces.rust);
    let setup = both("setup", c, rust, |f, _| {
        f.setup("admin", "admin password 1")
    });
    let admin = Pair::from_answers(setup, "/token");
    let created = both("create bob", c, rust, |f, s| {
        f.user_create(
            admin.of(s),
            r#"{"username":"bob","password":"bob password 1","role":"viewer"}"#,
        )
    });
    let bob_id = Pair::from_answers(created, "/user/id");
    let sign_in = |agent: &str| {
        let login = both(&format!("sign in from {agent}"), c, rust, |f, _| {
            f.authenticate_from("bob", "bob password 1", "10.1.2.3", agent)
        });
        Pair::from_answers(login, "/token")
    };
    let laptop = sign_in("Firefox/128.0");
    let phone = sign_in("Safari/17.0");
    let tablet = sign_in("Chrome/120.0");

    let (listed, _) = both("list", c, rust, |f, s| f.session_list(laptop.of(s)));
    let listed: Value = serde_json::from_str(&listed.expect("list")).expect("json");
    assert_eq!(listed["sessions"][0]["current"], true);
    assert_eq!(listed["sessions"][0]["userAgent"], "Firefox/128.0");
    assert_eq!(listed["sessions"][0]["clientIp"], "10.1.2.3");
    let phone_ids = both("list from the phone", c, rust, |f, s| {
        f.session_list(phone.of(s))
    });
    let phone_id = Pair::from_answers(phone_ids, "/sessions/0/id");
    let (ended, _) = both("end the phone's session", c, rust, |f, s| {
        f.session_end(laptop.of(s), phone_id.of(s))
    });
    assert_eq!(ended, Ok(()));
    let (gone, _) = both("the phone is signed out", c, rust, |f, s| {
        f.verify(phone.of(s))
    });
    assert!(matches!(gone, Err((status, _)) if status == Status::Unauthenticated as u32));
    same("an unknown session id", c, rust, |f, s| {
        f.session_end(laptop.of(s), "0000000000000000")
    });
    let (others, _) = both("end the others", c, rust, |f, s| {
        f.session_end_others(laptop.of(s))
    });
    assert_eq!(others.as_deref(), Ok(r#"{"ended":1}"#), "the tablet");
    same("the tablet is signed out", c, rust, |f, s| {
        f.verify(tablet.of(s))
    });
    same("a viewer cannot end another's sessions", c, rust, |f, s| {
        f.user_end_sessions(laptop.of(s), "no-such-user")
    });
    let (all, _) = both("the admin ends bob's sessions", c, rust, |f, s| {
        f.user_end_sessions(admin.of(s), bob_id.of(s))
    });
    assert_eq!(all.as_deref(), Ok(r#"{"ended":1}"#), "the laptop");
    let (laptop_gone, _) = both("the laptop is signed out", c, rust, |f, s| {
        f.verify(laptop.of(s))
    });
    assert!(matches!(laptop_gone, Err((status, _)) if status == Status::Unauthenticated as u32));
    same("bob signs in with the same password", c, rust, |f, _| {
        f.authenticate("bob", "bob password 1", "")
    });
}

/// The C request struct's own rules: `struct_size` smaller than the 1.4 struct is
/// UNSUPPORTED_VERSION, a larger one is accepted (later fields unread), NULL is NULL_ARGUMENT and
/// a zeroed struct with its size means REST.
#[test]
fn the_c_authorize_request_struct_is_versioned_by_its_size() {
    let faces = open_both();
    let c = &faces.c;
    let admin = field(
        &c.setup("admin", "admin password 1").expect("setup"),
        "/token",
    );
    let view = Action::View as u32;
    let allow = Ok(Decision::Allow as u32);
    let request = CAuthorizeRequest::new(&admin, view, "", Surface::Mcp as u32);
    for size in [0, 8, size_of::<CAuthorizeRequest>() - 1] {
        let small = CAuthorizeRequest {
            struct_size: size,
            ..request
        };
        // SAFETY: the struct is whole, whatever size it claims.
        let answer = unsafe { c.authorize_request(&small) };
        assert!(
            matches!(&answer, Err((status, _)) if *status == Status::UnsupportedVersion as u32),
            "struct_size {size}: {answer:?}"
        );
    }
    #[repr(C)]
    struct Later {
        request: CAuthorizeRequest,
        appended: [u64; 4],
    }
    let later = Later {
        request: CAuthorizeRequest {
            struct_size: size_of::<Later>(),
            ..request
        },
        appended: [u64::MAX; 4],
    };
    // SAFETY: `struct_size` bytes are readable.
    assert_eq!(unsafe { c.authorize_request(&later.request) }, allow);
    // SAFETY: NULL is part of the contract.
    let null = unsafe { c.authorize_request(std::ptr::null()) };
    assert!(matches!(null, Err((status, _)) if status == Status::NullArgument as u32));
    let no_token = CAuthorizeRequest {
        token: std::ptr::null(),
        ..request
    };
    // SAFETY: a NULL token with a length is refused before it is read.
    let refused = unsafe { c.authorize_request(&no_token) };
    assert!(matches!(refused, Err((status, _)) if status == Status::NullArgument as u32));
    let zeroed = CAuthorizeRequest {
        struct_size: size_of::<CAuthorizeRequest>(),
        token: admin.as_ptr().cast(),
        token_len: admin.len(),
        action: view,
        workspace: std::ptr::null(),
        workspace_len: 0,
        surface: 0,
    };
    // SAFETY: valid pointers for their lengths.
    assert_eq!(unsafe { c.authorize_request(&zeroed) }, allow);
}

// ---- refusing libraries with another interface ----

/// A root module with the plugin's name but another layout, as a host built against an
/// incompatible `plugin/abi` would declare it.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = WrongLayoutRef)))]
#[sabi(missing_field(panic))]
pub struct WrongLayout {
    pub abi_version: extern "C" fn() -> u64,
    #[sabi(last_prefix_field)]
    pub open: extern "C" fn(config_json: RStr<'_>) -> RResult<RString, RString>,
}

impl RootModule for WrongLayoutRef {
    declare_root_module_statics! {WrongLayoutRef}
    const BASE_NAME: &'static str = "dagu_auth";
    const NAME: &'static str = "dagu_auth";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// The same, claiming an incompatible interface version.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = WrongVersionRef)))]
#[sabi(missing_field(panic))]
pub struct WrongVersion {
    #[sabi(last_prefix_field)]
    pub abi_version: extern "C" fn() -> u32,
}

impl RootModule for WrongVersionRef {
    declare_root_module_statics! {WrongVersionRef}
    const BASE_NAME: &'static str = "dagu_auth";
    const NAME: &'static str = "dagu_auth";
    const VERSION_STRINGS: VersionStrings = VersionStrings::new("7.0.0");
}

fn libc_path() -> PathBuf {
    let maps = std::fs::read_to_string("/proc/self/maps").expect("read /proc/self/maps");
    maps.lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .find(|path| {
            Path::new(path)
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("libc.so"))
        })
        .map(PathBuf::from)
        .expect("libc is mapped")
}

#[test]
fn a_library_that_is_not_the_plugin_is_refused_with_an_error() {
    let error = match dagu_auth_abi::load_plugin(&libc_path()) {
        Ok(_) => panic!("libc was accepted as the plugin"),
        Err(error) => error,
    };
    assert!(matches!(error, LoadError::Library(_)), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("cannot load the dagu-auth plugin")
            && message.contains("_1as_0lib_1header_0root_bmodule_bloader"),
        "unclear error: {message}"
    );
    println!("libc: {message}");
}

#[test]
fn a_host_built_against_another_interface_is_refused_with_an_error() {
    let header = lib_header_from_path(plugin()).expect("the plugin has an abi_stable header");
    let layout = match header.init_root_module::<WrongLayoutRef>() {
        Ok(_) => panic!("a root module with another layout was accepted"),
        Err(error) => error.to_string(),
    };
    assert!(
        layout.contains("WrongLayout") && layout.contains("Compared"),
        "the layout mismatch must be explained: {layout}"
    );
    println!("another layout: {layout}");

    let header = lib_header_from_path(plugin()).expect("the plugin has an abi_stable header");
    let version = match header.init_root_module::<WrongVersionRef>() {
        Ok(_) => panic!("a root module of another interface version was accepted"),
        Err(error) => error.to_string(),
    };
    assert!(
        version.contains("version mismatch") && version.contains("7.0.0"),
        "the version mismatch must be explained: {version}"
    );
    println!("another version: {version}");

    // The real interface still loads afterwards.
    let module = dagu_auth_abi::load_plugin(plugin()).expect("the plugin still loads");
    assert_eq!(
        module.abi_version()() >> 16,
        dagu_auth_abi::ABI_VERSION_MAJOR
    );
}
