//! Parsing of stream replies from raw `redis::Value`s.
//!
//! Parsed by hand rather than with redis-rs' typed replies: those go through `String` maps, lose
//! entries whose fields are nil (deleted while pending) and know one `XAUTOCLAIM` shape per
//! version. Here every shape we can meet is handled: RESP2 arrays and RESP3 maps, `XAUTOCLAIM`
//! before Redis 7 (2 elements) and since (3 elements, with deleted ids).

use redis::Value;

/// One stream entry as Redis returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RawEntry {
    pub id: String,
    /// Field/value pairs; `None` when the entry was deleted while still pending.
    pub fields: Option<Vec<(Vec<u8>, Vec<u8>)>>,
}

impl RawEntry {
    pub fn field(&self, name: &str) -> Option<&[u8]> {
        self.fields.as_ref()?.iter().find(|(k, _)| k == name.as_bytes()).map(|(_, v)| v.as_slice())
    }

    pub fn text(&self, name: &str) -> Option<String> {
        self.field(name).map(|v| String::from_utf8_lossy(v).into_owned())
    }
}

/// The reply of `XAUTOCLAIM`.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct AutoClaim {
    /// Where the next scan of the pending list starts; `0-0` once it went all the way round.
    pub next: String,
    pub claimed: Vec<RawEntry>,
    /// Ids that were pending but no longer exist (Redis 7+ drops them from the pending list).
    pub deleted: Vec<String>,
}

type Parsed<T> = Result<T, String>;

fn bytes(v: Value) -> Parsed<Vec<u8>> {
    match v {
        Value::BulkString(b) => Ok(b),
        Value::SimpleString(s) => Ok(s.into_bytes()),
        Value::VerbatimString { text, .. } => Ok(text.into_bytes()),
        Value::Okay => Ok(b"OK".to_vec()),
        Value::Int(n) => Ok(n.to_string().into_bytes()),
        other => Err(format!("expected a string, got {other:?}")),
    }
}

fn string(v: Value) -> Parsed<String> {
    String::from_utf8(bytes(v)?).map_err(|_| "expected UTF-8 text".to_string())
}

fn array(v: Value) -> Parsed<Vec<Value>> {
    match v {
        Value::Array(items) | Value::Set(items) => Ok(items),
        Value::Nil => Ok(Vec::new()),
        other => Err(format!("expected an array, got {other:?}")),
    }
}

/// Flat `[k1, v1, k2, v2…]` (RESP2) or a map (RESP3), as ordered pairs.
fn pairs(v: Value) -> Parsed<Vec<(Value, Value)>> {
    match v {
        Value::Map(pairs) => Ok(pairs),
        other => {
            let items = array(other)?;
            if items.len() % 2 != 0 {
                return Err("odd number of field/value items".into());
            }
            let mut it = items.into_iter();
            let mut out = Vec::new();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                out.push((k, v));
            }
            Ok(out)
        }
    }
}

/// One `[id, [field, value…]]` entry; the fields are nil for an entry deleted while pending.
fn entry(v: Value) -> Parsed<RawEntry> {
    let mut parts = array(v)?.into_iter();
    let id = string(parts.next().ok_or("entry without id")?)?;
    let fields = match parts.next() {
        None | Some(Value::Nil) => None,
        Some(fields) => {
            Some(pairs(fields)?.into_iter().map(|(k, v)| Ok((bytes(k)?, bytes(v)?))).collect::<Parsed<Vec<_>>>()?)
        }
    };
    Ok(RawEntry { id, fields })
}

/// A list of entries, as `XRANGE` returns it (and `XREADGROUP`/`XAUTOCLAIM` inside theirs). Nil
/// items (Redis 6 `XAUTOCLAIM` for deleted entries) are skipped: they carry not even an id.
pub(super) fn entries(v: Value) -> Parsed<Vec<RawEntry>> {
    array(v)?.into_iter().filter(|item| !matches!(item, Value::Nil)).map(entry).collect()
}

/// The reply of `XREADGROUP` on one stream: nil when the block time ran out, else
/// `[[stream, entries]]` (RESP2) or `{stream: entries}` (RESP3).
pub(super) fn read(v: Value) -> Parsed<Vec<RawEntry>> {
    let streams = match v {
        Value::Nil => return Ok(Vec::new()),
        Value::Map(pairs) => pairs.into_iter().map(|(_, entries)| entries).collect(),
        other => array(other)?
            .into_iter()
            .map(|stream| array(stream)?.into_iter().nth(1).ok_or_else(|| "stream without entries".to_string()))
            .collect::<Parsed<Vec<_>>>()?,
    };
    let mut out = Vec::new();
    for stream in streams {
        out.extend(entries(stream)?);
    }
    Ok(out)
}

/// The reply of `XAUTOCLAIM`: `[next, entries]` before Redis 7, `[next, entries, deleted]` since.
pub(super) fn autoclaim(v: Value) -> Parsed<AutoClaim> {
    let items = array(v)?;
    if !(2..=3).contains(&items.len()) {
        return Err(format!("XAUTOCLAIM reply with {} elements", items.len()));
    }
    let mut it = items.into_iter();
    let next = string(it.next().ok_or("no cursor")?)?;
    let claimed = entries(it.next().ok_or("no entries")?)?;
    let deleted = match it.next() {
        Some(ids) => array(ids)?.into_iter().map(string).collect::<Parsed<Vec<_>>>()?,
        None => Vec::new(),
    };
    Ok(AutoClaim { next, claimed, deleted })
}

/// The delivery count from an extended `XPENDING key group id id 1` reply
/// (`[[id, consumer, idle_ms, deliveries]]`); `None` when the id is no longer pending.
pub(super) fn pending_deliveries(v: Value) -> Parsed<Option<u64>> {
    let Some(first) = array(v)?.into_iter().next() else {
        return Ok(None);
    };
    let count = array(first)?.into_iter().nth(3).ok_or("pending entry without a delivery count")?;
    match count {
        Value::Int(n) => Ok(Some(u64::try_from(n).unwrap_or(0))),
        other => string(other)?.parse().map(Some).map_err(|_| "delivery count is not a number".into()),
    }
}

/// Whether `id` is a well-formed stream id (`ms-seq`), so user input never reaches Redis as one
/// that would make the command fail.
pub(super) fn is_stream_id(id: &str) -> bool {
    let Some((ms, seq)) = id.split_once('-') else {
        return false;
    };
    let number =
        |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()) && s.parse::<u64>().is_ok();
    number(ms) && number(seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    fn raw_entry(id: &str, e: &str) -> Value {
        Value::Array(vec![bulk(id), Value::Array(vec![bulk("e"), bulk(e)])])
    }

    #[test]
    fn read_handles_timeouts_resp2_and_resp3() {
        assert_eq!(read(Value::Nil).unwrap(), Vec::new());
        let resp2 = Value::Array(vec![Value::Array(vec![bulk("q"), Value::Array(vec![raw_entry("1-0", "x")])])]);
        let got = read(resp2).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].id, "1-0");
        assert_eq!(got[0].field("e"), Some(&b"x"[..]));
        let resp3 = Value::Map(vec![(bulk("q"), Value::Array(vec![raw_entry("2-0", "y"), raw_entry("3-0", "z")]))]);
        let ids: Vec<_> = read(resp3).unwrap().into_iter().map(|e| e.id).collect();
        assert_eq!(ids, ["2-0", "3-0"]);
    }

    #[test]
    fn autoclaim_parses_both_reply_shapes() {
        let v6 = Value::Array(vec![bulk("5-0"), Value::Array(vec![raw_entry("1-0", "x"), Value::Nil])]);
        let got = autoclaim(v6).unwrap();
        assert_eq!((got.next.as_str(), got.claimed.len(), got.deleted.len()), ("5-0", 1, 0));

        let v7 = Value::Array(vec![
            bulk("0-0"),
            Value::Array(vec![raw_entry("1-0", "x"), Value::Array(vec![bulk("2-0"), Value::Nil])]),
            Value::Array(vec![bulk("3-0")]),
        ]);
        let got = autoclaim(v7).unwrap();
        assert_eq!(got.next, "0-0");
        assert_eq!(got.claimed[1], RawEntry { id: "2-0".into(), fields: None });
        assert_eq!(got.deleted, ["3-0"]);

        assert!(autoclaim(Value::Array(vec![bulk("0-0")])).is_err());
    }

    #[test]
    fn pending_reply_gives_the_delivery_count() {
        let v = Value::Array(vec![Value::Array(vec![bulk("1-0"), bulk("c"), Value::Int(10), Value::Int(3)])]);
        assert_eq!(pending_deliveries(v).unwrap(), Some(3));
        assert_eq!(pending_deliveries(Value::Array(vec![])).unwrap(), None);
    }

    #[test]
    fn fields_keep_binary_values_and_resp3_maps() {
        let v = Value::Array(vec![Value::Array(vec![
            bulk("1-0"),
            Value::Map(vec![(bulk("e"), Value::BulkString(vec![0xff, b'\n', 0])), (bulk("at"), Value::Int(7))]),
        ])]);
        let got = entries(v).unwrap();
        assert_eq!(got[0].field("e"), Some(&[0xff, b'\n', 0][..]));
        assert_eq!(got[0].text("at").as_deref(), Some("7"));
        assert_eq!(got[0].field("missing"), None);
    }

    #[test]
    fn stream_ids_are_validated() {
        assert!(is_stream_id("1700000000000-0"));
        for bad in ["", "1", "-1", "a-b", "1-", "1-2-3", "99999999999999999999999-0", "+", "1 -0"] {
            assert!(!is_stream_id(bad), "{bad}");
        }
    }
}
