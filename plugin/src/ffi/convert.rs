//! The inputs both ABIs read the same way (JSON requests, the action number) and what they answer
//! (JSON, the decision number).

use dagu_auth_vocab::{DaguAuthAction, DaguAuthStatus};
use serde::{Deserialize, Serialize};

use super::{CallError, CallResult};
use crate::error::Error;
use crate::service::Engine;

/// A JSON request argument.
pub fn from_json<'a, T: Deserialize<'a>>(text: &'a str) -> CallResult<T> {
    serde_json::from_str(text).map_err(|e| Error::InvalidJson(e.to_string()).into())
}

/// An optional JSON query: empty text is the default query.
pub fn query_from_json<'a, T: Deserialize<'a> + Default>(text: &'a str) -> CallResult<T> {
    match text {
        "" => Ok(T::default()),
        json => from_json(json),
    }
}

/// An Engine answer as the JSON text both ABIs hand out.
pub fn to_json(value: &impl Serialize) -> CallResult<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(e.to_string()).into())
}

/// JSON the Engine wrote already, as text, without a copy.
pub fn json_text(bytes: Vec<u8>) -> CallResult<String> {
    String::from_utf8(bytes)
        .map_err(|e| Error::Internal(format!("the JSON answer is not UTF-8: {e}")).into())
}

/// `authorize` with the numbers both ABIs carry: an action value in, a decision value out.
pub fn authorize(engine: &Engine, token: &str, action: u32, workspace: &str) -> CallResult<u32> {
    Ok(engine.authorize(token, parse_action(action)?, workspace)? as u32)
}

/// An action number from outside.
fn parse_action(value: u32) -> CallResult<DaguAuthAction> {
    DaguAuthAction::from_u32(value).ok_or_else(|| {
        CallError::new(
            DaguAuthStatus::BadRequest,
            format!("unknown action {value}"),
        )
    })
}
