//! One error type with stable codes. The codes are part of the public API: JS sees them as
//! `error.code`, the CLI prints them and exits non-zero.

use serde::Serialize;

/// Stable, machine-readable error codes (SCREAMING_SNAKE_CASE on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    ModelInvalid,
    UnsupportedOp,
    InputMismatch,
    IntegrityMismatch,
    BackendUnavailable,
    ResourceLimit,
    InvalidArgument,
    Busy,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ModelInvalid => "MODEL_INVALID",
            ErrorCode::UnsupportedOp => "UNSUPPORTED_OP",
            ErrorCode::InputMismatch => "INPUT_MISMATCH",
            ErrorCode::IntegrityMismatch => "INTEGRITY_MISMATCH",
            ErrorCode::BackendUnavailable => "BACKEND_UNAVAILABLE",
            ErrorCode::ResourceLimit => "RESOURCE_LIMIT",
            ErrorCode::InvalidArgument => "INVALID_ARGUMENT",
            ErrorCode::Busy => "BUSY",
            ErrorCode::Internal => "INTERNAL",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every failure the SDK reports. Messages say what to fix, not only what went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the model could not be read: {0}")]
    ModelInvalid(String),
    #[error("operator {op} (node \"{node}\") is not supported: {detail}")]
    UnsupportedOp { op: String, node: String, detail: String },
    #[error("input \"{name}\": {detail}")]
    InputMismatch { name: String, detail: String },
    #[error("the model's sha256 is {actual}, expected {expected}: the file is not the one you pinned")]
    IntegrityMismatch { expected: String, actual: String },
    #[error("backend \"{backend}\" is not available here: {reason}")]
    BackendUnavailable { backend: String, reason: String },
    #[error("resource limit: {0}")]
    ResourceLimit(String),
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("busy: {0}")]
    Busy(String),
    #[error("internal error (please report it): {0}")]
    Internal(String),
}

impl Error {
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::ModelInvalid(_) => ErrorCode::ModelInvalid,
            Error::UnsupportedOp { .. } => ErrorCode::UnsupportedOp,
            Error::InputMismatch { .. } => ErrorCode::InputMismatch,
            Error::IntegrityMismatch { .. } => ErrorCode::IntegrityMismatch,
            Error::BackendUnavailable { .. } => ErrorCode::BackendUnavailable,
            Error::ResourceLimit(_) => ErrorCode::ResourceLimit,
            Error::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Error::Busy(_) => ErrorCode::Busy,
            Error::Internal(_) => ErrorCode::Internal,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A caught panic's payload as text (the `&str` or `String` that `panic!` carries).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic")
}

/// Runs tract code so that a panic inside it becomes an `INTERNAL` error naming `what` instead of
/// unwinding into the caller (natively and in wasm, which is built with `panic=unwind`; the JS
/// layer catches what escapes elsewhere, `js::panic`). Loading still validates inputs up front,
/// and run-time feed values are checked node by node (`backend::feed_values`), so that known
/// failures get their own codes rather than `INTERNAL`.
pub(crate) fn guard<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            Err(Error::Internal(format!("tract panicked while {what}: {}", panic_message(payload.as_ref()))))
        }
    }
}

/// A thrown JS value's message: an `Error`'s `message` without its name (its `String()` would put
/// "SyntaxError: " or "Error: " first), or the string thrown.
#[cfg(target_arch = "wasm32")]
pub fn js_message(e: &wasm_bindgen::JsValue) -> String {
    use wasm_bindgen::JsCast;
    e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).or_else(|| e.as_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_distinct_wire_name() {
        let all = [
            Error::ModelInvalid(String::new()),
            Error::UnsupportedOp { op: "Foo".into(), node: "n".into(), detail: String::new() },
            Error::InputMismatch { name: "x".into(), detail: String::new() },
            Error::IntegrityMismatch { expected: "a".into(), actual: "b".into() },
            Error::BackendUnavailable { backend: "webgpu".into(), reason: "no adapter".into() },
            Error::ResourceLimit(String::new()),
            Error::InvalidArgument(String::new()),
            Error::Internal(String::new()),
        ];
        let names: std::collections::HashSet<_> = all.iter().map(|e| e.code().as_str()).collect();
        assert_eq!(names.len(), all.len());
        for e in &all {
            let name = e.code().as_str();
            assert!(name.chars().all(|c| c.is_ascii_uppercase() || c == '_'), "{name}");
        }
    }

    #[test]
    fn messages_name_what_to_fix() {
        let e = Error::UnsupportedOp { op: "Foo".into(), node: "conv_3".into(), detail: "no kernel".into() };
        assert!(e.to_string().contains("Foo") && e.to_string().contains("conv_3"));
    }
}
