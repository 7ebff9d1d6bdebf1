//! The plugin through its Rust ABI: abi_stable's root module, checked for layout at load time.
//! abi_stable stays inside this file: it has had no release since 2023, so the less of the host
//! that knows it, the easier it is to replace.

use std::path::Path;

use abi_stable::std_types::{RStr, RString, Tuple2};
use dagu_auth_abi::{
    AbiError, AbiHttpRequest, DaguAuthAction, DaguAuthDecision, DaguAuthStatus, InstanceBox,
    LoadError, load_plugin,
};

use axum::body::Bytes;

use super::{
    Backend, HttpRequest, HttpResponse, OpenError, PluginError, append_header, decision_from,
    error_chain, header_text, response_headers,
};

pub struct RustAbiBackend {
    // Dropping the box closes the instance; abi_stable never unloads the library itself.
    instance: InstanceBox,
    abi_minor: u32,
}

/// The first ABI minor with operator commands; calling a missing trait method would panic.
const OPERATOR_MINOR: u32 = 2;
/// The first ABI minor with `audit_append`.
const AUDIT_APPEND_MINOR: u32 = 4;

impl RustAbiBackend {
    /// Returns the open instance and the plugin's version string.
    pub fn open(path: &Path, config_json: &str) -> Result<(Self, String), OpenError> {
        let module = load_plugin(path).map_err(|e| OpenError::Load {
            path: path.to_owned(),
            reason: load_reason(&e),
        })?;
        let version = module.version()().to_string();
        let abi_minor = module.abi_version()() & 0xffff;
        let instance = module.open()(RStr::from_str(config_json))
            .into_result()
            .map_err(|e| OpenError::Refused(from_abi(e)))?;
        Ok((
            Self {
                instance,
                abi_minor,
            },
            version,
        ))
    }
}

/// abi_stable's messages span several indented lines and repeat the path; one line reads better
/// in a start-up error.
fn load_reason(error: &LoadError) -> String {
    let text = match error {
        LoadError::Library(inner) => error_chain(inner),
        other => error_chain(other),
    };
    // The symbol name in them carries its NUL terminator.
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn from_abi(error: AbiError) -> PluginError {
    PluginError {
        status: error.status,
        message: error.message.into_string(),
    }
}

impl Backend for RustAbiBackend {
    fn handle_http(&self, request: &HttpRequest) -> Result<HttpResponse, PluginError> {
        let abi_request = AbiHttpRequest {
            method: request.method.as_str().into(),
            path: request.path.as_str().into(),
            headers: request
                .headers
                .iter()
                .map(|(name, value)| Tuple2(name.as_str().into(), header_text(value).into()))
                .collect(),
            body: request.body.as_ref().into(),
            client_ip: request.client_ip.as_str().into(),
        };
        let response = self.instance.handle_http(&abi_request);
        let mut headers = response_headers(response.headers.len());
        for Tuple2(name, value) in &response.headers {
            append_header(&mut headers, name.as_bytes(), value.as_bytes());
        }
        Ok(HttpResponse {
            status: response.status,
            headers,
            // The plugin's buffer itself, freed through the plugin's own vtable once hyper has sent
            // it, which may be after the instance closed at shutdown. That is sound only because
            // abi_stable never unloads a library: a loader that did would have to copy here.
            body: Bytes::from_owner(response.body),
        })
    }

    fn authorize(
        &self,
        token: &str,
        action: DaguAuthAction,
        workspace: &str,
    ) -> Result<DaguAuthDecision, PluginError> {
        let value = self
            .instance
            .authorize(token.into(), action as u32, workspace.into())
            .into_result()
            .map_err(from_abi)?;
        decision_from(value)
    }

    fn setup_required(&self) -> Result<bool, PluginError> {
        self.instance
            .setup_required()
            .into_result()
            .map_err(from_abi)
    }

    fn operator(&self, command_json: &str) -> Result<String, PluginError> {
        if self.abi_minor < OPERATOR_MINOR {
            return Err(PluginError::new(
                DaguAuthStatus::UnsupportedVersion,
                "this plugin is older than ABI 1.2 and has no operator commands",
            ));
        }
        self.instance
            .operator(command_json.into())
            .into_result()
            .map(RString::into_string)
            .map_err(from_abi)
    }

    fn audit_append(&self, token: &str, entry_json: &str) -> Result<(), PluginError> {
        if self.abi_minor < AUDIT_APPEND_MINOR {
            return Err(PluginError::new(
                DaguAuthStatus::UnsupportedVersion,
                "this plugin is older than ABI 1.4 and has no audit_append",
            ));
        }
        self.instance
            .audit_append(token.into(), entry_json.into())
            .into_result()
            .map_err(from_abi)
    }
}
