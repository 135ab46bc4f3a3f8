//! What a store holds, read underneath the service: every Redis key and value under a test's
//! prefix, or every row of every embedded table.

use backorder::store::embedded::EmbeddedStore;

use super::{TestStore, redis};

/// Every byte of the store: the embedded files, or every Redis key and value of the prefix.
/// The embedded files include freed pages, so a secret that ever hit the disk shows here.
pub fn raw_bytes(store: &TestStore) -> Vec<u8> {
    match &store.dir {
        Some(dir) => {
            let mut all = Vec::new();
            for entry in std::fs::read_dir(dir.path()).unwrap() {
                all.extend(std::fs::read(entry.unwrap().path()).unwrap_or_default());
            }
            all
        }
        None => redis_entries(store).concat().into_bytes(),
    }
}

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// One line per Redis key under the prefix: the key, then its value, whatever its type.
pub fn redis_entries(store: &TestStore) -> Vec<String> {
    let port = redis::shared().port;
    let mut cursor = "0".to_string();
    let mut names = Vec::new();
    loop {
        let reply = redis::command(port, &["SCAN", &cursor, "MATCH", &format!("{}:*", store.prefix), "COUNT", "1000"])
            .unwrap_or_default();
        let lines: Vec<&str> = reply.split("\r\n").collect();
        // *2, $n, cursor, *k, then $len/name pairs.
        cursor = lines.get(2).copied().unwrap_or("0").to_string();
        names.extend(lines.iter().skip(5).step_by(2).filter(|l| !l.is_empty()).map(|l| l.to_string()));
        if cursor == "0" {
            break;
        }
    }
    names
        .into_iter()
        .filter_map(|key| {
            let kind = redis::command(port, &["TYPE", &key]).unwrap_or_default();
            let read: Vec<&str> = match kind.trim().trim_start_matches('+') {
                "string" => vec!["GET"],
                "hash" => vec!["HGETALL"],
                "zset" => vec!["ZRANGE", "0", "-1", "WITHSCORES"],
                "set" => vec!["SMEMBERS"],
                "list" => vec!["LRANGE", "0", "-1"],
                "stream" => vec!["XRANGE", "-", "+"],
                // Gone since the scan (a lease released meanwhile).
                "none" => return None,
                other => panic!("{key}: unexpected type {other}"),
            };
            let mut parts = vec![read[0], key.as_str()];
            parts.extend_from_slice(&read[1..]);
            Some(format!("{key}\t{}", redis::command(port, &parts).unwrap_or_default()))
        })
        .collect()
}

/// Every row of every table of a stopped embedded store.
pub async fn embedded_rows(store: &TestStore) -> Vec<String> {
    let dir = store.dir.as_ref().expect("an embedded store").path();
    let opened = EmbeddedStore::open(dir).await.expect("the stopped store opens");
    opened.dump().await.expect("dump")
}
