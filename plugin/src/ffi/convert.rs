//! The inputs both ABIs read the same way (JSON requests, the action and surface numbers) and what
//! they answer (JSON, the decision number). Their errors are Engine errors, so they take the one
//! status table.

use dagu_auth_vocab::{DaguAuthAction, DaguAuthSurface};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::service::{Credentials, Engine};

/// A JSON request argument.
pub fn from_json<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::InvalidJson(e.to_string()))
}

/// An optional JSON query: empty text is the default query.
pub fn query_from_json<'a, T: Deserialize<'a> + Default>(text: &'a str) -> Result<T> {
    match text {
        "" => Ok(T::default()),
        json => from_json(json),
    }
}

/// An Engine answer as the JSON text both ABIs hand out.
pub fn to_json(value: &impl Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(e.to_string()))
}

/// JSON the Engine wrote already, as text, without a copy.
pub fn json_text(bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes)
        .map_err(|e| Error::Internal(format!("the JSON answer is not UTF-8: {e}")))
}

/// `authorize` with the numbers both ABIs carry: an action and a surface value in, a decision
/// value out. The calls from before surfaces (ABI 1.0 to 1.3) pass REST.
pub fn authorize(
    engine: &Engine,
    token: &str,
    action: u32,
    workspace: &str,
    surface: u32,
) -> Result<u32> {
    let action = DaguAuthAction::from_u32(action)
        .ok_or_else(|| Error::bad_request(format!("unknown action {action}")))?;
    let surface = DaguAuthSurface::from_u32(surface)
        .ok_or_else(|| Error::bad_request(format!("unknown surface {surface}")))?;
    let caller = Credentials::from(token).on(surface);
    Ok(engine.authorize(caller, action, workspace)? as u32)
}
