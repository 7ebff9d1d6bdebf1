//! The Rust ABI: the abi_stable root module (types in `plugin/abi`) over the Engine. abi_stable stays
//! inside this file, the contract crate and hosts' loaders.

use std::panic::{AssertUnwindSafe, catch_unwind};

use abi_stable::export_root_module;
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::sabi_extern_fn;
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RErr, ROk, RResult, RStr, RString, Tuple2};
use dagu_auth_abi::{
    AbiError, AbiHttpRequest, AbiHttpResponse, DaguAuthAction, DaguAuthMod, DaguAuthModRef,
    DaguAuthStatus, Instance, Instance_TO, InstanceBox,
};

use crate::config::Config;
use crate::error::Error;
use crate::http::{self, Request};
use crate::service::Engine;

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
    dagu_auth_abi::abi_version()
}

#[sabi_extern_fn]
fn version() -> RStr<'static> {
    RStr::from_str(env!("CARGO_PKG_VERSION"))
}

#[sabi_extern_fn]
fn open(config_json: RStr<'_>) -> RResult<InstanceBox, AbiError> {
    shielded(|| {
        let engine = Engine::open(Config::from_json(config_json.as_str())?)?;
        Ok(Instance_TO::from_value(Plugin { engine }, TD_Opaque))
    })
}

/// Runs an Engine call: errors become `AbiError`, and a panic becomes the PANIC status instead of
/// unwinding into abi_stable's extern frames (which abort).
fn shielded<T>(call: impl FnOnce() -> Result<T, Error>) -> RResult<T, AbiError> {
    match catch_unwind(AssertUnwindSafe(call)) {
        Ok(Ok(value)) => ROk(value),
        Ok(Err(error)) => RErr(AbiError {
            status: error.status() as u32,
            message: error.to_string().into(),
        }),
        Err(_) => RErr(AbiError {
            status: DaguAuthStatus::Panic as u32,
            message: "internal panic in dagu-auth (the instance is still usable)".into(),
        }),
    }
}

fn json(value: &impl serde::Serialize) -> Result<RString, Error> {
    Error::to_json(value).map(RString::from)
}

/// JSON the Engine wrote already, moved into an `RString` without a copy.
fn json_text(bytes: Vec<u8>) -> Result<RString, Error> {
    String::from_utf8(bytes)
        .map(RString::from)
        .map_err(|e| Error::Internal(format!("the JSON answer is not UTF-8: {e}")))
}

struct Plugin {
    engine: Engine,
}

impl Instance for Plugin {
    fn setup_required(&self) -> RResult<bool, AbiError> {
        shielded(|| self.engine.setup_required())
    }

    fn setup(&self, username: RStr<'_>, password: RStr<'_>) -> RResult<RString, AbiError> {
        shielded(|| json(&self.engine.setup(&username, &password, "")?))
    }

    fn authenticate(
        &self,
        username: RStr<'_>,
        password: RStr<'_>,
        client_ip: RStr<'_>,
    ) -> RResult<RString, AbiError> {
        shielded(|| json(&self.engine.login(&username, &password, &client_ip)?))
    }

    fn verify(&self, token: RStr<'_>) -> RResult<RString, AbiError> {
        shielded(|| json(&self.engine.principal(token.as_str())?))
    }

    fn authorize(
        &self,
        token: RStr<'_>,
        action: u32,
        workspace: RStr<'_>,
    ) -> RResult<u32, AbiError> {
        shielded(|| {
            let action = DaguAuthAction::from_u32(action)
                .ok_or_else(|| Error::bad_request(format!("unknown action {action}")))?;
            Ok(self.engine.authorize(token.as_str(), action, &workspace)? as u32)
        })
    }

    fn logout(&self, token: RStr<'_>) -> RResult<(), AbiError> {
        shielded(|| self.engine.logout(token.as_str()))
    }

    fn user_list(&self, token: RStr<'_>) -> RResult<RString, AbiError> {
        shielded(|| json_text(self.engine.list_users_json(token.as_str())?))
    }

    fn user_get(&self, token: RStr<'_>, id: RStr<'_>) -> RResult<RString, AbiError> {
        shielded(|| json(&self.engine.get_user(token.as_str(), &id)?))
    }

    fn user_create(&self, token: RStr<'_>, request_json: RStr<'_>) -> RResult<RString, AbiError> {
        shielded(|| {
            json(
                &self
                    .engine
                    .create_user(token.as_str(), Error::parse_json(request_json.as_bytes())?)?,
            )
        })
    }

    fn user_update(
        &self,
        token: RStr<'_>,
        id: RStr<'_>,
        request_json: RStr<'_>,
    ) -> RResult<RString, AbiError> {
        shielded(|| {
            json(&self.engine.update_user(
                token.as_str(),
                &id,
                Error::parse_json(request_json.as_bytes())?,
            )?)
        })
    }

    fn user_delete(&self, token: RStr<'_>, id: RStr<'_>) -> RResult<(), AbiError> {
        shielded(|| self.engine.delete_user(token.as_str(), &id))
    }

    fn user_reset_password(
        &self,
        token: RStr<'_>,
        id: RStr<'_>,
        new_password: RStr<'_>,
    ) -> RResult<(), AbiError> {
        shielded(|| {
            self.engine
                .reset_password(token.as_str(), &id, &new_password)
                .map(drop)
        })
    }

    fn change_password(
        &self,
        token: RStr<'_>,
        current: RStr<'_>,
        new: RStr<'_>,
    ) -> RResult<(), AbiError> {
        shielded(|| {
            self.engine
                .change_password(token.as_str(), &current, &new)
                .map(drop)
        })
    }

    fn api_key_list(&self, token: RStr<'_>) -> RResult<RString, AbiError> {
        shielded(|| json(&self.engine.list_api_keys(token.as_str())?))
    }

    fn api_key_get(&self, token: RStr<'_>, id: RStr<'_>) -> RResult<RString, AbiError> {
        shielded(|| json(&self.engine.get_api_key(token.as_str(), &id)?))
    }

    fn api_key_create(
        &self,
        token: RStr<'_>,
        request_json: RStr<'_>,
    ) -> RResult<RString, AbiError> {
        shielded(|| {
            json(
                &self
                    .engine
                    .create_api_key(token.as_str(), Error::parse_json(request_json.as_bytes())?)?,
            )
        })
    }

    fn api_key_update(
        &self,
        token: RStr<'_>,
        id: RStr<'_>,
        request_json: RStr<'_>,
    ) -> RResult<RString, AbiError> {
        shielded(|| {
            json(&self.engine.update_api_key(
                token.as_str(),
                &id,
                Error::parse_json(request_json.as_bytes())?,
            )?)
        })
    }

    fn api_key_delete(&self, token: RStr<'_>, id: RStr<'_>) -> RResult<(), AbiError> {
        shielded(|| self.engine.delete_api_key(token.as_str(), &id))
    }

    fn audit_list(&self, token: RStr<'_>, query_json: RStr<'_>) -> RResult<RString, AbiError> {
        shielded(|| {
            let request = match query_json.as_str() {
                "" => Default::default(),
                query => Error::parse_json(query.as_bytes())?,
            };
            json(&self.engine.list_audit(token.as_str(), request)?)
        })
    }

    fn operator(&self, command_json: RStr<'_>) -> RResult<RString, AbiError> {
        shielded(|| {
            json(
                &self
                    .engine
                    .operator(Error::parse_json(command_json.as_bytes())?)?,
            )
        })
    }

    fn handle_http(&self, request: &AbiHttpRequest) -> AbiHttpResponse {
        let headers: Vec<(&str, &str)> = request
            .headers
            .iter()
            .map(|Tuple2(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let request = Request {
            method: &request.method,
            path: &request.path,
            headers: &headers,
            body: &request.body,
            client_ip: &request.client_ip,
        };
        let response = catch_unwind(AssertUnwindSafe(|| http::handle(&self.engine, &request)))
            .unwrap_or_else(|_| http::Response::error(&Error::Internal("panic".into())));
        AbiHttpResponse {
            status: response.status,
            headers: response
                .headers
                .into_iter()
                .map(|(k, v)| Tuple2(k.into(), v.into()))
                .collect(),
            body: response.body.into(),
        }
    }
}
