//! The Rust ABI: the abi_stable root module (types in `plugin/abi`) over the Engine. abi_stable stays
//! inside this file, the contract crate and hosts' loaders.
//!
//! Each method is one line: how it answers (`call`, `json`, `status`: the shared panic boundary,
//! errors as `AbiError`), then one Engine call on its arguments. The instance is the C ABI's
//! [`DaguAuth`], so both ABIs hand out one type.

use abi_stable::export_root_module;
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::sabi_extern_fn;
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RResult, RStr, RString, Tuple2};
use dagu_auth_abi::{
    AbiAuthorizeRequest, AbiError, AbiHttpRequest, AbiHttpResponse, DaguAuthMod, DaguAuthModRef,
    DaguAuthSurface, Instance, Instance_TO, InstanceBox,
};
use serde::Serialize;

use crate::error::Result;
use crate::ffi::{
    CallError, DaguAuth, authorize, call_boundary, from_json, http_boundary, json_text,
    panic_boundary, query_from_json, to_json,
};
use crate::http::{self, Request, Response};
use crate::service::{Engine, SignInOrigin};

/// What the methods from before surfaces (ABI 1.0 to 1.3) mean.
const REST: u32 = DaguAuthSurface::RestApi as u32;

#[export_root_module]
pub fn root_module() -> DaguAuthModRef {
    DaguAuthMod {
        abi_version,
        version,
        open,
    }
    .leak_into_prefix()
}

#[sabi_extern_fn]
fn abi_version() -> u32 {
    panic_boundary(|| 0, dagu_auth_abi::abi_version)
}

#[sabi_extern_fn]
fn version() -> RStr<'static> {
    panic_boundary(
        || RStr::from_str("unknown"),
        || RStr::from_str(crate::VERSION),
    )
}

#[sabi_extern_fn]
fn open(config_json: RStr) -> RResult<InstanceBox, AbiError> {
    let open = || {
        Ok(Instance_TO::from_value(
            DaguAuth::open(&config_json)?,
            TD_Opaque,
        ))
    };
    call_boundary(open).map_err(abi_error).into()
}

fn abi_error(error: CallError) -> AbiError {
    AbiError {
        status: error.status as u32,
        message: error.message.into(),
    }
}

/// How a method runs: behind the shared panic boundary (abi_stable's extern frames abort on a
/// panic, so none may reach them), with the Engine, its errors crossing as `AbiError`.
impl DaguAuth {
    fn call<T>(&self, call: impl FnOnce(&Engine) -> Result<T>) -> RResult<T, AbiError> {
        call_boundary(|| Ok(call(&self.engine)?))
            .map_err(abi_error)
            .into()
    }

    /// A method answering the Engine's value as JSON.
    fn json<T: Serialize>(
        &self,
        call: impl FnOnce(&Engine) -> Result<T>,
    ) -> RResult<RString, AbiError> {
        self.call(|engine| Ok(to_json(&call(engine)?)?.into()))
    }

    /// A method answering only success; what the Engine returns is not needed.
    fn status<T>(&self, call: impl FnOnce(&Engine) -> Result<T>) -> RResult<(), AbiError> {
        self.call(|engine| call(engine).map(drop))
    }
}

/// `http::handle` for a request in abi_stable's types.
fn answer_http(engine: &Engine, request: &AbiHttpRequest) -> Response {
    let headers: Vec<(&str, &str)> = request
        .headers
        .iter()
        .map(|Tuple2(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let request = Request {
        method: &request.method,
        path: &request.path,
        headers: &headers,
        body: &request.body,
        client_ip: &request.client_ip,
    };
    http::handle(engine, &request)
}

fn abi_response(response: Response) -> AbiHttpResponse {
    let headers = response.headers.into_iter();
    AbiHttpResponse {
        status: response.status,
        headers: headers.map(|(k, v)| Tuple2(k.into(), v.into())).collect(),
        body: response.body.into(),
    }
}

impl Instance for DaguAuth {
    fn setup_required(&self) -> RResult<bool, AbiError> {
        self.call(|e| e.setup_required())
    }

    fn setup(&self, username: RStr, password: RStr) -> RResult<RString, AbiError> {
        self.json(|e| e.setup(&username, &password, ""))
    }

    fn authenticate(&self, username: RStr, password: RStr, ip: RStr) -> RResult<RString, AbiError> {
        self.json(|e| e.login(&username, &password, &ip))
    }

    fn verify(&self, token: RStr) -> RResult<RString, AbiError> {
        self.json(|e| e.principal(token.as_str()))
    }

    fn authorize(&self, token: RStr, action: u32, workspace: RStr) -> RResult<u32, AbiError> {
        self.call(|e| authorize(e, &token, action, &workspace, REST))
    }

    fn logout(&self, token: RStr) -> RResult<(), AbiError> {
        self.call(|e| e.logout(token.as_str()))
    }

    fn user_list(&self, token: RStr) -> RResult<RString, AbiError> {
        self.call(|e| Ok(json_text(e.list_users_json(token.as_str())?)?.into()))
    }

    fn user_get(&self, token: RStr, id: RStr) -> RResult<RString, AbiError> {
        self.json(|e| e.get_user(token.as_str(), &id))
    }

    fn user_create(&self, token: RStr, request: RStr) -> RResult<RString, AbiError> {
        self.json(|e| e.create_user(token.as_str(), from_json(&request)?))
    }

    fn user_update(&self, token: RStr, id: RStr, request: RStr) -> RResult<RString, AbiError> {
        self.json(|e| e.update_user(token.as_str(), &id, from_json(&request)?))
    }

    fn user_delete(&self, token: RStr, id: RStr) -> RResult<(), AbiError> {
        self.call(|e| e.delete_user(token.as_str(), &id))
    }

    fn user_reset_password(&self, token: RStr, id: RStr, new: RStr) -> RResult<(), AbiError> {
        self.status(|e| e.reset_password(token.as_str(), &id, &new))
    }

    fn change_password(&self, token: RStr, current: RStr, new: RStr) -> RResult<(), AbiError> {
        self.status(|e| e.change_password(token.as_str(), &current, &new))
    }

    fn api_key_list(&self, token: RStr) -> RResult<RString, AbiError> {
        self.json(|e| e.list_api_keys(token.as_str()))
    }

    fn api_key_get(&self, token: RStr, id: RStr) -> RResult<RString, AbiError> {
        self.json(|e| e.get_api_key(token.as_str(), &id))
    }

    fn api_key_create(&self, token: RStr, request: RStr) -> RResult<RString, AbiError> {
        self.json(|e| e.create_api_key(token.as_str(), from_json(&request)?))
    }

    fn api_key_update(&self, token: RStr, id: RStr, changes: RStr) -> RResult<RString, AbiError> {
        self.json(|e| e.update_api_key(token.as_str(), &id, from_json(&changes)?))
    }

    fn api_key_delete(&self, token: RStr, id: RStr) -> RResult<(), AbiError> {
        self.call(|e| e.delete_api_key(token.as_str(), &id))
    }

    fn audit_list(&self, token: RStr, query: RStr) -> RResult<RString, AbiError> {
        self.json(|e| e.list_audit(token.as_str(), query_from_json(&query)?))
    }

    fn operator(&self, command: RStr) -> RResult<RString, AbiError> {
        self.json(|e| e.operator(from_json(&command)?))
    }

    fn audit_append(&self, token: RStr, entry: RStr) -> RResult<(), AbiError> {
        self.call(|e| e.append_audit(&token, &entry))
    }

    fn handle_http(&self, request: &AbiHttpRequest) -> AbiHttpResponse {
        abi_response(http_boundary(|| answer_http(&self.engine, request)))
    }

    fn authorize_request(&self, r: &AbiAuthorizeRequest) -> RResult<u32, AbiError> {
        self.call(|e| authorize(e, &r.token, r.action, &r.workspace, r.surface))
    }

    fn authenticate_from(
        &self,
        username: RStr,
        password: RStr,
        ip: RStr,
        user_agent: RStr,
    ) -> RResult<RString, AbiError> {
        self.json(|e| e.login_from(&username, &password, SignInOrigin::new(&ip, &user_agent)))
    }

    fn session_list(&self, token: RStr) -> RResult<RString, AbiError> {
        self.json(|e| e.list_sessions(token.as_str()))
    }

    fn session_end(&self, token: RStr, session_id: RStr) -> RResult<(), AbiError> {
        self.call(|e| e.end_session(token.as_str(), &session_id))
    }

    fn session_end_others(&self, token: RStr) -> RResult<RString, AbiError> {
        self.json(|e| e.end_other_sessions(token.as_str()))
    }

    fn user_end_sessions(&self, token: RStr, id: RStr) -> RResult<RString, AbiError> {
        self.json(|e| e.end_user_sessions(token.as_str(), &id))
    }

    fn sign_in(&self, username: RStr, password: RStr, ip: RStr) -> RResult<RString, AbiError> {
        self.json(|e| e.sign_in(&username, &password, &ip))
    }

    fn login_mfa(&self, mfa_token: RStr, code: RStr, ip: RStr) -> RResult<RString, AbiError> {
        self.json(|e| e.login_mfa(&mfa_token, &code, &ip))
    }

    fn totp_setup(&self, token: RStr) -> RResult<RString, AbiError> {
        self.json(|e| e.start_totp_setup(token.as_str()))
    }

    fn totp_confirm(&self, token: RStr, code: RStr) -> RResult<RString, AbiError> {
        self.json(|e| e.confirm_totp(token.as_str(), &code))
    }

    fn totp_disable(&self, token: RStr, password: RStr, code: RStr) -> RResult<(), AbiError> {
        self.call(|e| e.disable_totp(token.as_str(), &password, &code).map(drop))
    }

    fn recovery_codes_regenerate(&self, token: RStr, code: RStr) -> RResult<RString, AbiError> {
        self.json(|e| e.regenerate_recovery_codes(token.as_str(), &code))
    }

    fn user_mfa_reset(&self, token: RStr, user_id: RStr) -> RResult<(), AbiError> {
        self.call(|e| e.reset_mfa(token.as_str(), &user_id))
    }
}
