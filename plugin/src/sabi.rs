//! The Rust ABI: the abi_stable root module (types in `plugin/abi`) over the Engine. abi_stable stays
//! inside this file, the contract crate and hosts' loaders.
//!
//! Each method is one line: [`rust_call`] (the shared panic boundary, errors as `AbiError`), the
//! arguments, one Engine call, the answer. The instance is the C ABI's [`DaguAuth`], so both ABIs
//! hand out one type.

use abi_stable::export_root_module;
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::sabi_extern_fn;
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RResult, RStr, RString, Tuple2};
use dagu_auth_abi::{
    AbiError, AbiHttpRequest, AbiHttpResponse, DaguAuthMod, DaguAuthModRef, Instance, Instance_TO,
    InstanceBox,
};
use serde::Serialize;

use crate::ffi::{
    CallError, CallResult, DaguAuth, authorize, call_boundary, from_json, http_boundary, json_text,
    panic_boundary, query_from_json, to_json,
};
use crate::http::{self, Request, Response};

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
fn open(config_json: RStr<'_>) -> RResult<InstanceBox, AbiError> {
    rust_call(|| {
        Ok(Instance_TO::from_value(
            DaguAuth::open(&config_json)?,
            TD_Opaque,
        ))
    })
}

/// Runs a method behind the shared panic boundary: abi_stable's extern frames abort on a panic,
/// so none may reach them. Errors cross as `AbiError`.
fn rust_call<T>(call: impl FnOnce() -> CallResult<T>) -> RResult<T, AbiError> {
    call_boundary(call).map_err(abi_error).into()
}

fn abi_error(error: CallError) -> AbiError {
    AbiError {
        status: error.status as u32,
        message: error.message.into(),
    }
}

fn json(value: &impl Serialize) -> CallResult<RString> {
    to_json(value).map(RString::from)
}

fn http_request<'a>(request: &'a AbiHttpRequest, headers: &'a [(&'a str, &'a str)]) -> Request<'a> {
    Request {
        method: &request.method,
        path: &request.path,
        headers,
        body: &request.body,
        client_ip: &request.client_ip,
    }
}

fn http_headers(request: &AbiHttpRequest) -> Vec<(&str, &str)> {
    let pairs = request.headers.iter();
    pairs.map(|Tuple2(k, v)| (k.as_str(), v.as_str())).collect()
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
        rust_call(|| Ok(self.engine.setup_required()?))
    }

    fn setup(&self, username: RStr<'_>, password: RStr<'_>) -> RResult<RString, AbiError> {
        rust_call(|| json(&self.engine.setup(&username, &password, "")?))
    }

    fn authenticate(
        &self,
        username: RStr<'_>,
        password: RStr<'_>,
        client_ip: RStr<'_>,
    ) -> RResult<RString, AbiError> {
        rust_call(|| json(&self.engine.login(&username, &password, &client_ip)?))
    }

    fn verify(&self, token: RStr<'_>) -> RResult<RString, AbiError> {
        rust_call(|| json(&self.engine.principal(token.as_str())?))
    }

    fn authorize(
        &self,
        token: RStr<'_>,
        action: u32,
        workspace: RStr<'_>,
    ) -> RResult<u32, AbiError> {
        rust_call(|| authorize(&self.engine, &token, action, &workspace))
    }

    fn logout(&self, token: RStr<'_>) -> RResult<(), AbiError> {
        rust_call(|| Ok(self.engine.logout(token.as_str())?))
    }

    fn user_list(&self, token: RStr<'_>) -> RResult<RString, AbiError> {
        rust_call(|| Ok(json_text(self.engine.list_users_json(token.as_str())?)?.into()))
    }

    fn user_get(&self, token: RStr<'_>, id: RStr<'_>) -> RResult<RString, AbiError> {
        rust_call(|| json(&self.engine.get_user(token.as_str(), &id)?))
    }

    fn user_create(&self, token: RStr<'_>, request: RStr<'_>) -> RResult<RString, AbiError> {
        rust_call(|| {
            json(
                &self
                    .engine
                    .create_user(token.as_str(), from_json(&request)?)?,
            )
        })
    }

    fn user_update(
        &self,
        token: RStr<'_>,
        id: RStr<'_>,
        request: RStr<'_>,
    ) -> RResult<RString, AbiError> {
        rust_call(|| {
            json(
                &self
                    .engine
                    .update_user(token.as_str(), &id, from_json(&request)?)?,
            )
        })
    }

    fn user_delete(&self, token: RStr<'_>, id: RStr<'_>) -> RResult<(), AbiError> {
        rust_call(|| Ok(self.engine.delete_user(token.as_str(), &id)?))
    }

    fn user_reset_password(
        &self,
        token: RStr<'_>,
        id: RStr<'_>,
        new: RStr<'_>,
    ) -> RResult<(), AbiError> {
        rust_call(|| {
            Ok(self
                .engine
                .reset_password(token.as_str(), &id, &new)
                .map(drop)?)
        })
    }

    fn change_password(
        &self,
        token: RStr<'_>,
        current: RStr<'_>,
        new: RStr<'_>,
    ) -> RResult<(), AbiError> {
        rust_call(|| {
            Ok(self
                .engine
                .change_password(token.as_str(), &current, &new)
                .map(drop)?)
        })
    }

    fn api_key_list(&self, token: RStr<'_>) -> RResult<RString, AbiError> {
        rust_call(|| json(&self.engine.list_api_keys(token.as_str())?))
    }

    fn api_key_get(&self, token: RStr<'_>, id: RStr<'_>) -> RResult<RString, AbiError> {
        rust_call(|| json(&self.engine.get_api_key(token.as_str(), &id)?))
    }

    fn api_key_create(&self, token: RStr<'_>, request: RStr<'_>) -> RResult<RString, AbiError> {
        rust_call(|| {
            json(
                &self
                    .engine
                    .create_api_key(token.as_str(), from_json(&request)?)?,
            )
        })
    }

    fn api_key_update(
        &self,
        token: RStr<'_>,
        id: RStr<'_>,
        changes: RStr<'_>,
    ) -> RResult<RString, AbiError> {
        rust_call(|| {
            json(
                &self
                    .engine
                    .update_api_key(token.as_str(), &id, from_json(&changes)?)?,
            )
        })
    }

    fn api_key_delete(&self, token: RStr<'_>, id: RStr<'_>) -> RResult<(), AbiError> {
        rust_call(|| Ok(self.engine.delete_api_key(token.as_str(), &id)?))
    }

    fn audit_list(&self, token: RStr<'_>, query: RStr<'_>) -> RResult<RString, AbiError> {
        rust_call(|| {
            json(
                &self
                    .engine
                    .list_audit(token.as_str(), query_from_json(&query)?)?,
            )
        })
    }

    fn operator(&self, command: RStr<'_>) -> RResult<RString, AbiError> {
        rust_call(|| json(&self.engine.operator(from_json(&command)?)?))
    }

    fn handle_http(&self, request: &AbiHttpRequest) -> AbiHttpResponse {
        abi_response(http_boundary(|| {
            http::handle(&self.engine, &http_request(request, &http_headers(request)))
        }))
    }
}
