//! A pass over the protobuf's wire format before it is decoded: decoding expands every entry of a
//! repeated field into an object (an empty 2-byte `NodeProto` becomes ~160 bytes), so a small
//! hostile file could exhaust wasm's 4 GiB. This estimates what decoding would allocate and how
//! deep subgraphs nest, from the bytes alone, in one linear pass.

use crate::error::{Error, Result};

/// Subgraphs (If/Loop/Scan bodies) nested deeper than this are refused.
pub const MAX_DEPTH: usize = 32;

/// What decoding would hold: objects for message entries, strings, numbers.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub messages: u64,
    pub strings: u64,
    pub numbers: u64,
}

impl Tally {
    /// Bytes decoding would allocate beyond the file's own, roughly: prost's structs are
    /// 100-200 bytes, a `String` 24 plus its bytes, a number 8.
    pub fn estimated_bytes(&self) -> u64 {
        self.messages * 160 + self.strings * 32 + self.numbers * 8
    }
}

/// A field's value: only a length-delimited one's bytes are kept.
pub(crate) enum Value<'a> {
    Varint,
    Len(&'a [u8]),
    Fixed,
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self.bytes.split_first()?;
            self.bytes = rest;
            v |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    /// The next field, or None at the end or on malformed bytes (prost reports those).
    fn next(&mut self) -> Option<(u64, Value<'a>)> {
        if self.bytes.is_empty() {
            return None;
        }
        let key = self.varint()?;
        let value = match key & 7 {
            0 => self.varint().map(|_| Value::Varint)?,
            1 => self.skip(8).map(|_| Value::Fixed)?,
            5 => self.skip(4).map(|_| Value::Fixed)?,
            2 => {
                let len = usize::try_from(self.varint()?).ok()?;
                Value::Len(self.skip(len)?)
            }
            _ => return None, // groups: not in ONNX
        };
        Some((key >> 3, value))
    }

    fn skip(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.bytes.len() {
            return None;
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Some(head)
    }
}

/// The fields of one message, in order: (field number, value); ends early on malformed bytes.
pub(crate) fn fields(bytes: &[u8]) -> impl Iterator<Item = (u64, Value<'_>)> {
    let mut r = Reader { bytes };
    std::iter::from_fn(move || r.next())
}

/// Counts what a `ModelProto` would decode into; errors only for nesting beyond `MAX_DEPTH`.
pub fn tally(model: &[u8]) -> Result<Tally> {
    let mut t = Tally::default();
    for (field, v) in fields(model) {
        match (field, v) {
            (7, Value::Len(g)) => graph(g, 0, &mut t)?,
            (25, Value::Len(f)) => {
                t.messages += 1;
                function(f, &mut t)?;
            }
            (_, Value::Len(_)) => t.strings += 1,
            _ => {}
        }
    }
    Ok(t)
}

fn graph(bytes: &[u8], depth: usize, t: &mut Tally) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(Error::ModelInvalid(format!(
            "subgraphs nest more than {MAX_DEPTH} deep: no real model does, the file is corrupt or hostile"
        )));
    }
    for (field, v) in fields(bytes) {
        match (field, v) {
            (1, Value::Len(n)) => {
                t.messages += 1;
                node(n, depth, t)?;
            }
            (5 | 15, Value::Len(x)) => {
                t.messages += 1;
                tensor(x, t);
            }
            (11..=14, Value::Len(_)) => t.messages += 1,
            (_, Value::Len(_)) => t.strings += 1,
            _ => {}
        }
    }
    Ok(())
}

fn node(bytes: &[u8], depth: usize, t: &mut Tally) -> Result<()> {
    for (field, v) in fields(bytes) {
        match (field, v) {
            (5, Value::Len(a)) => {
                t.messages += 1;
                attribute(a, depth, t)?;
            }
            (_, Value::Len(_)) => t.strings += 1,
            _ => {}
        }
    }
    Ok(())
}

fn attribute(bytes: &[u8], depth: usize, t: &mut Tally) -> Result<()> {
    for (field, v) in fields(bytes) {
        match (field, v) {
            (6 | 11, Value::Len(g)) => {
                t.messages += 1;
                graph(g, depth + 1, t)?;
            }
            (5 | 10, Value::Len(x)) => {
                t.messages += 1;
                tensor(x, t);
            }
            // Packed floats/ints: at most one number per byte.
            (7 | 8, Value::Len(p)) => t.numbers += p.len() as u64,
            (7 | 8, _) => t.numbers += 1,
            (_, Value::Len(_)) => t.strings += 1,
            _ => {}
        }
    }
    Ok(())
}

fn tensor(bytes: &[u8], t: &mut Tally) {
    for (field, v) in fields(bytes) {
        match (field, v) {
            // dims, int32/int64/uint64 data: packed varints widen to 8 bytes each.
            (1 | 5 | 7 | 11, Value::Len(p)) => t.numbers += p.len() as u64,
            (1 | 5 | 7 | 11, _) => t.numbers += 1,
            (6, _) => t.strings += 1,
            _ => {}
        }
    }
}

fn function(bytes: &[u8], t: &mut Tally) -> Result<()> {
    for (field, v) in fields(bytes) {
        match (field, v) {
            (7, Value::Len(n)) => {
                t.messages += 1;
                node(n, 1, t)?;
            }
            (_, Value::Len(_)) => t.strings += 1,
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(mut v: usize) -> Vec<u8> {
        let mut out = vec![];
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return out;
            }
            out.push(b | 0x80);
        }
    }

    fn len_field(field: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![(field << 3) | 2];
        out.extend(varint(body.len()));
        out.extend(body);
        out
    }

    #[test]
    fn counts_empty_nodes_and_strings() {
        let g: Vec<u8> = [len_field(1, &len_field(1, b"x")), len_field(1, &[]), len_field(2, b"name")].concat();
        let t = tally(&len_field(7, &g)).unwrap();
        assert_eq!(t, Tally { messages: 2, strings: 2, numbers: 0 });
    }

    #[test]
    fn nesting_is_bounded() {
        let mut g = len_field(1, b"");
        for _ in 0..=MAX_DEPTH + 1 {
            // node { attribute { g: <graph> } }
            g = len_field(1, &len_field(5, &len_field(6, &g)));
        }
        let e = tally(&len_field(7, &g)).unwrap_err();
        assert!(e.to_string().contains("nest"), "{e}");
    }

    #[test]
    fn malformed_bytes_stop_the_count_without_error() {
        assert_eq!(tally(&[0x3a, 0xff, 0xff]).unwrap(), Tally::default());
        assert_eq!(tally(&[0x0b]).unwrap(), Tally::default());
    }
}
