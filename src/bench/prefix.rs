//! Removing what a bench run wrote: every key under its prefix.

/// Removes every key under `prefix` from each of `nodes` (a Redis, or a Cluster's masters), so
/// the next run starts on a store as empty as the first: keys are unlinked one by one, as a
/// Cluster refuses a command over keys of several slots.
pub(super) async fn remove(nodes: &[String], prefix: &str) -> Result<(), String> {
    let pattern = format!("{prefix}:*");
    for node in nodes {
        let client = redis::Client::open(node.as_str()).map_err(|e| e.to_string())?;
        let mut conn = client.get_multiplexed_async_connection().await.map_err(|e| e.to_string())?;
        let mut cursor = 0u64;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            if !keys.is_empty() {
                let mut pipe = redis::pipe();
                for key in &keys {
                    pipe.cmd("UNLINK").arg(key).ignore();
                }
                let () = pipe.query_async(&mut conn).await.map_err(|e| e.to_string())?;
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
    }
    Ok(())
}
