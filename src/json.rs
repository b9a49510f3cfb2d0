//! JSON text ⇄ our serde types (manifests, Whisper's tokenizer and config, saved heads and
//! commands).
//!
//! Natively this is serde_json. In the wasm module it is the browser's own `JSON.parse` and
//! `JSON.stringify`, with serde-wasm-bindgen (linked anyway, for the JS options objects) between
//! the JS value and our types: serde_json's parser, number formatting and error positions were
//! 20 KB of the gzipped module net (docs/performance-log.md, "Under 2 MiB").
//! The types, their serde attributes and the checks after parsing are the same on both.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Why a text is not the JSON of the type asked for: the parser's or serde's words (a syntax
/// error's position, a missing or unknown field, a value of the wrong type and what was
/// expected). serde_json adds the line and column of a value's error; serde-wasm-bindgen cannot
/// (tried: serde_path_to_error loses the path inside our internally tagged manifests, +9 KiB).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct JsonError(String);

/// Parses `bytes`, which must be UTF-8, as the JSON of a `T`.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonError> {
    let text = std::str::from_utf8(bytes).map_err(|e| JsonError(format!("not UTF-8 text: {e}")))?;
    from_str(text)
}

/// Serialises plain data (no map with non-string keys, no integer beyond 2^53 in the wasm
/// module; none of our saved types has either).
pub fn to_string<T: Serialize>(value: &T) -> String {
    imp::to_string(value)
}

/// Parses `text` as the JSON of a `T`.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, JsonError> {
    imp::from_str(text)
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::*;

    pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, JsonError> {
        serde_json::from_str(text).map_err(|e| JsonError(e.to_string()))
    }

    pub fn to_string<T: Serialize>(value: &T) -> String {
        serde_json::to_string(value).expect("plain data serialises")
    }
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::*;
    use crate::error::js_message;

    pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, JsonError> {
        let value = js_sys::JSON::parse(text).map_err(|e| JsonError(js_message(&e)))?;
        serde_wasm_bindgen::from_value(value).map_err(|e| JsonError(js_message(&e.into())))
    }

    pub fn to_string<T: Serialize>(value: &T) -> String {
        // Plain objects for maps, null for None: what JSON.stringify, and serde_json, write.
        let value = value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).expect("plain data serialises");
        js_sys::JSON::stringify(&value).expect("plain data serialises").into()
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, PartialEq, Deserialize, Serialize)]
    struct Outer {
        name: String,
        inner: Vec<Inner>,
    }

    #[derive(Debug, PartialEq, Deserialize, Serialize)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        mean: [f32; 3],
    }

    #[test]
    fn an_error_says_what_is_wrong_and_where() {
        let e = from_str::<Outer>(r#"{"name": "a", "inner": [{"mean": [1, 2, 3]}, {"mean": [1, 2]}]}"#).unwrap_err();
        assert!(e.to_string().starts_with("invalid length 2, expected an array of length 3 at line 1"), "{e}");
        let e = from_str::<Outer>(r#"{"name": "a", "inner": [{"mean": [1, 2, 3], "std": 1}]}"#).unwrap_err();
        assert!(e.to_string().starts_with("unknown field `std`, expected `mean` at line 1"), "{e}");
        let e = from_str::<Outer>(r#"{"inner": []}"#).unwrap_err();
        assert!(e.to_string().starts_with("missing field `name`"), "{e}");
    }

    #[test]
    fn text_after_the_value_and_bad_bytes_are_errors() {
        assert!(from_str::<Outer>(r#"{"name": "a", "inner": []} x"#).unwrap_err().to_string().contains("trailing"));
        assert!(from_slice::<Outer>(b"{\"name\": \"\xff\", \"inner\": []}")
            .unwrap_err()
            .to_string()
            .starts_with("not UTF-8"));
    }

    #[test]
    fn saved_values_come_back_the_same() {
        let v = Outer { name: "ü \"q\"".into(), inner: vec![Inner { mean: [0.1, -1e-30, f32::MAX] }] };
        assert_eq!(from_str::<Outer>(&to_string(&v)).unwrap(), v);
    }
}
