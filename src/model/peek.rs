//! A few fields of a model file read from its wire format, without decoding the file: pipelines
//! read a classifier's last layer, a recogniser's character list and a model's first input this
//! way instead of decoding a second copy of every weight. Each answers as a full decode would
//! (repeated fields in file order, the first match; a string field given twice, its last);
//! malformed bytes read as absent, and the model's own load says what is wrong with them.

use prost::Message;
use tract_onnx::pb::{self, tensor_proto::DataType};

use super::harden::wire::{fields, Value};
use crate::error::{Error, Result};

// Field numbers (onnx.proto).
const MODEL_GRAPH: u64 = 7;
const MODEL_METADATA: u64 = 14;
const GRAPH_INITIALIZER: u64 = 5;
const GRAPH_INPUT: u64 = 11;
const TENSOR_NAME: u64 = 8;
const VALUE_INFO_NAME: u64 = 1;

/// The length-delimited values of field `number` in a message.
fn each(message: &[u8], number: u64) -> impl Iterator<Item = &[u8]> {
    fields(message).filter_map(move |(f, v)| match v {
        Value::Len(b) if f == number => Some(b),
        _ => None,
    })
}

/// A string field's value: its last occurrence, as a decoder keeps it.
fn last(message: &[u8], number: u64) -> Option<&[u8]> {
    each(message, number).last()
}

/// The top-level graph's messages of field `number` (a graph given twice is one, merged).
fn graph_entries(model: &[u8], number: u64) -> impl Iterator<Item = &[u8]> {
    each(model, MODEL_GRAPH).flat_map(move |g| each(g, number))
}

/// One message decoded from a `Bytes` copy of it: the decoders `proto::decode` already has (from
/// a `&[u8]` prost would compile a second set: 10 KiB more wasm).
fn decode<M: Message + Default>(message: &[u8]) -> Option<M> {
    M::decode(bytes::Bytes::copy_from_slice(message)).ok()
}

/// The top-level initializer named `name`, decoded alone.
pub fn initializer(model: &[u8], name: &str) -> Option<pb::TensorProto> {
    decode(graph_entries(model, GRAPH_INITIALIZER).find(|t| last(t, TENSOR_NAME) == Some(name.as_bytes()))?)
}

/// A float initializer by name, as (dims, values): pipelines read weights they post-process
/// with (a classifier's last linear layer for class activation maps).
pub fn initializer_f32(model: &[u8], name: &str) -> Result<(Vec<usize>, Vec<f32>)> {
    let t = initializer(model, name).ok_or_else(|| {
        Error::ModelInvalid(format!("the model has no initializer \"{name}\" (named by its manifest)"))
    })?;
    if t.data_type != DataType::Float as i32 {
        return Err(Error::ModelInvalid(format!("initializer \"{name}\" is not float32")));
    }
    let dims: Vec<usize> = t.dims.iter().map(|&d| d.max(0) as usize).collect();
    let n: usize = dims.iter().product();
    let values: Vec<f32> = if !t.float_data.is_empty() {
        t.float_data
    } else {
        t.raw_data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
    };
    if values.len() != n {
        return Err(Error::ModelInvalid(format!(
            "initializer \"{name}\" holds {} values for dims {dims:?}",
            values.len()
        )));
    }
    Ok((dims, values))
}

/// The model's `metadata_props` value for `key` (PaddleOCR keeps its character list there).
pub fn metadata(model: &[u8], key: &str) -> Option<String> {
    each(model, MODEL_METADATA).filter_map(decode::<pb::StringStringEntryProto>).find(|e| e.key == key).map(|e| e.value)
}

/// The name of the model's first input that is not an initializer.
pub fn first_input(model: &[u8]) -> Option<String> {
    let initializers: Vec<&[u8]> =
        graph_entries(model, GRAPH_INITIALIZER).filter_map(|t| last(t, TENSOR_NAME)).collect();
    let name = graph_entries(model, GRAPH_INPUT)
        .map(|i| last(i, VALUE_INFO_NAME).unwrap_or_default())
        .find(|n| !initializers.contains(n))?;
    String::from_utf8(name.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::proto;

    fn tensor(name: &str, raw: &[f32]) -> pb::TensorProto {
        pb::TensorProto {
            name: name.into(),
            data_type: DataType::Float as i32,
            dims: vec![raw.len() as i64],
            raw_data: raw.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        }
    }

    fn input(name: &str) -> pb::ValueInfoProto {
        pb::ValueInfoProto { name: name.into(), ..Default::default() }
    }

    fn entry(key: &str, value: &str) -> pb::StringStringEntryProto {
        pb::StringStringEntryProto { key: key.into(), value: value.into() }
    }

    /// Two models' encodings one after the other: a decoder merges them (both graphs' repeated
    /// fields, in order), and so must the peeks.
    fn merged() -> Vec<u8> {
        let first = pb::ModelProto {
            graph: Some(pb::GraphProto {
                initializer: vec![tensor("w", &[1.0, 2.0]), tensor("dup", &[3.0])],
                input: vec![input("w")],
                ..Default::default()
            }),
            metadata_props: vec![entry("k", "first"), entry("other", "x")],
            ..Default::default()
        };
        let second = pb::ModelProto {
            graph: Some(pb::GraphProto {
                initializer: vec![tensor("dup", &[4.0]), tensor("late", &[5.0, 6.0, 7.0])],
                input: vec![input("late"), input("x"), input("y")],
                ..Default::default()
            }),
            metadata_props: vec![entry("k", "second")],
            ..Default::default()
        };
        [first.encode_to_vec(), second.encode_to_vec()].concat()
    }

    #[test]
    fn peeks_answer_as_a_full_decode() {
        let bytes = merged();
        let full = pb::ModelProto::decode(&bytes[..]).unwrap();
        let g = full.graph.as_ref().unwrap();
        for name in ["w", "dup", "late"] {
            let want = g.initializer.iter().find(|t| t.name == name).cloned();
            assert_eq!(initializer(&bytes, name), want, "{name}");
        }
        assert_eq!(initializer(&bytes, "missing"), None);
        assert_eq!(initializer_f32(&bytes, "dup").unwrap(), (vec![1], vec![3.0]));
        assert_eq!(initializer_f32(&bytes, "late").unwrap(), (vec![3], vec![5.0, 6.0, 7.0]));
        assert!(initializer_f32(&bytes, "missing").unwrap_err().to_string().contains("missing"));
        let want = full.metadata_props.iter().find(|p| p.key == "k").map(|p| p.value.clone());
        assert_eq!(metadata(&bytes, "k"), want);
        assert_eq!(metadata(&bytes, "k").as_deref(), Some("first"));
        assert_eq!(metadata(&bytes, "none"), None);
        assert_eq!(first_input(&bytes).as_deref(), Some("x"));
    }

    #[test]
    fn malformed_bytes_read_as_absent() {
        let bytes = merged();
        for cut in 0..bytes.len() {
            let b = &bytes[..cut];
            // No panic, and nothing that is not in the file.
            if let Some(t) = initializer(b, "late") {
                assert_eq!(t.name, "late");
            }
            let _ = (metadata(b, "k"), first_input(b), initializer_f32(b, "w"));
        }
        assert_eq!(initializer(&[0xff; 16], "w"), None);
    }

    /// On the real files the pipelines read: the classifier's last layer and the recogniser's
    /// character list, against a full decode.
    #[test]
    fn real_models_read_as_decoded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/cache");
        let cases = [
            ("efficientnet/efficientnet_lite0.onnx", Some("fc.weight"), None),
            ("ppocr/ppocrv4_rec.onnx", None, Some("character")),
        ];
        for (file, weight, key) in cases {
            let Ok(bytes) = std::fs::read(root.join(file)) else { continue };
            let full = proto::decode(&bytes).unwrap();
            if let Some(w) = weight {
                let want = full.graph.as_ref().unwrap().initializer.iter().find(|t| t.name == w).cloned();
                assert!(want.is_some());
                assert_eq!(initializer(&bytes, w), want, "{file}");
            }
            if let Some(k) = key {
                let want = full.metadata_props.iter().find(|p| p.key == k).map(|p| p.value.clone());
                assert!(want.is_some());
                assert_eq!(metadata(&bytes, k), want, "{file}");
            }
            let g = full.graph.as_ref().unwrap();
            let want = g.input.iter().map(|i| &i.name).find(|n| !g.initializer.iter().any(|t| &t.name == *n)).cloned();
            assert_eq!(first_input(&bytes), want, "{file}");
        }
    }
}
