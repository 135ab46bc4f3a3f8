//! The ledger's records and lines in Redis. Every key carries the shop's hash tag, so a commit is
//! one script on one Cluster slot. Lines are members of a sorted set compared as bytes: the fill
//! key first (its bytes sort like the fill order), the quantity after it.

use std::ops::Bound;

use super::{RedisStore, unavailable};
use crate::ledger::FillKey;
use crate::store::{CommitOutcome, Dirty, LedgerCommit, LineRead, Record, StoreError};

const KEY_LEN: usize = FillKey::ENCODED_LEN;

fn member(key: &FillKey, qty: u32) -> Vec<u8> {
    let mut m = key.encode().to_vec();
    m.extend_from_slice(&qty.to_be_bytes());
    m
}

fn parse_member(m: &[u8]) -> Result<(FillKey, u32), StoreError> {
    if m.len() != KEY_LEN + 4 {
        return Err(StoreError::Corrupt("ledger line member of the wrong length".into()));
    }
    let key = FillKey::decode(&m[..KEY_LEN]).expect("length checked");
    let qty = u32::from_be_bytes(m[KEY_LEN..].try_into().expect("4 bytes"));
    Ok((key, qty))
}

/// A lex range bound: `[bytes` inclusive, `(bytes` exclusive.
fn lex(inclusive: bool, bytes: &[u8]) -> Vec<u8> {
    let mut b = vec![if inclusive { b'[' } else { b'(' }];
    b.extend_from_slice(bytes);
    b
}

/// Redis takes the LIMIT count as a signed 64-bit number.
fn limit(reach: usize) -> i64 {
    i64::try_from(reach).unwrap_or(i64::MAX)
}

impl RedisStore {
    pub(super) async fn ledger_get_impl(
        &self,
        shop: &str,
        records: &[Record],
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let mut cmd = redis::cmd("MGET");
        for r in records {
            cmd.arg(self.keys.record(shop, &r.name()));
        }
        self.query::<Vec<Option<Vec<u8>>>>(&cmd).await
    }

    pub(super) async fn ledger_levels_impl(&self, shop: &str, item: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let mut index = redis::cmd("ZRANGE");
        index.arg(self.keys.level_index(shop, item)).arg(0).arg(-1);
        let locations: Vec<String> = self.query(&index).await?;
        let mut locations: Vec<u64> = locations
            .iter()
            .map(|l| l.parse().map_err(|_| StoreError::Corrupt(format!("level index entry {l:?}"))))
            .collect::<Result<_, _>>()?;
        locations.sort_unstable();
        let records: Vec<Record> =
            locations.iter().map(|location| Record::Level { item, location: *location }).collect();
        let values = self.ledger_get_impl(shop, &records).await?;
        Ok(locations.into_iter().zip(values).filter_map(|(l, v)| v.map(|v| (l, v))).collect())
    }

    pub(super) async fn ledger_lines_impl(
        &self,
        shop: &str,
        variant: u64,
        around: Option<FillKey>,
        reach: usize,
    ) -> Result<LineRead, StoreError> {
        let key = self.keys.lines(shop, variant);
        let mut pipe = redis::pipe();
        // Members of the line at `around` start with its 28 bytes and are longer, so they sort
        // after `(around` and belong to the forward read.
        let upper = match &around {
            Some(k) => lex(false, &k.encode()),
            None => b"+".to_vec(),
        };
        pipe.cmd("ZRANGE").arg(&key).arg(upper).arg("-").arg("BYLEX").arg("REV").arg("LIMIT").arg(0).arg(limit(reach));
        if let Some(k) = &around {
            pipe.cmd("ZRANGE")
                .arg(&key)
                .arg(lex(true, &k.encode()))
                .arg("+")
                .arg("BYLEX")
                .arg("LIMIT")
                .arg(0)
                .arg(limit(reach));
        }
        let pipe = &pipe;
        let replies: Vec<Vec<Vec<u8>>> = self
            .run(true, |mut c| async move { pipe.query_async::<Vec<Vec<Vec<u8>>>>(&mut c).await })
            .await
            .map_err(unavailable)?;
        let mut replies = replies.into_iter();
        let before: Vec<(FillKey, u32)> =
            replies.next().unwrap_or_default().iter().map(|m| parse_member(m)).collect::<Result<_, _>>()?;
        let after: Vec<(FillKey, u32)> =
            replies.next().unwrap_or_default().iter().map(|m| parse_member(m)).collect::<Result<_, _>>()?;
        Ok(LineRead::assemble(before, after, around.is_some(), reach))
    }

    pub(super) async fn ledger_scan_impl(
        &self,
        shop: &str,
        variant: u64,
        from: Bound<FillKey>,
        count: usize,
    ) -> Result<Vec<(FillKey, u32)>, StoreError> {
        // A member is the 28-byte key and 4 quantity bytes, so the key alone sorts before every
        // member of its line, and the key followed by a fifth byte sorts after all of them.
        let start = match from {
            Bound::Unbounded => b"-".to_vec(),
            Bound::Included(k) => lex(true, &k.encode()),
            Bound::Excluded(k) => lex(true, &[k.encode().as_slice(), &[0xff; 5]].concat()),
        };
        let mut cmd = redis::cmd("ZRANGE");
        cmd.arg(self.keys.lines(shop, variant)).arg(start).arg("+").arg("BYLEX").arg("LIMIT").arg(0).arg(limit(count));
        let members: Vec<Vec<u8>> = self.query(&cmd).await?;
        members.iter().map(|m| parse_member(m)).collect()
    }

    pub(super) async fn ledger_commit_impl(
        &self,
        shop: &str,
        commit: &LedgerCommit,
    ) -> Result<CommitOutcome, StoreError> {
        // Before the commit, on the `{intake}` slot: see `shops.rs`.
        self.remember_shop(shop).await?;
        // After the commit, on the `{due}` slot: see `due.rs`.
        let due = commit.makes_due();
        let k = &self.keys;
        let mut inv = self.scripts.ledger_commit.prepare_invoke();
        // Without an event, KEYS[1] names a mark that is never written (ARGV[1] is empty): the
        // script still gets a key of the shop's slot in that place.
        let event_key = commit.event.as_ref().map_or("", |e| e.key.as_str());
        inv.key(k.processed(shop, event_key)).key(k.processed_counts(shop)).key(k.dirty(shop));
        for (record, _) in &commit.expect {
            inv.key(k.record(shop, &record.name()));
        }
        for (record, _) in &commit.writes {
            inv.key(k.record(shop, &record.name()));
        }
        for (record, _) in &commit.writes {
            match record {
                Record::Level { item, .. } => inv.key(k.level_index(shop, *item)),
                _ => inv.key(k.dirty(shop)),
            };
        }
        for line in &commit.lines {
            inv.key(k.lines(shop, line.variant));
        }
        inv.key(k.gone(shop));
        let dirty = commit.dirty_marks();
        match &commit.event {
            Some(event) => inv.arg(super::ttl_ms(event.ttl)).arg(&event.topic),
            None => inv.arg("").arg(""),
        };
        inv.arg(commit.expect.len())
            .arg(commit.writes.len())
            .arg(commit.lines.len())
            .arg(dirty.len())
            .arg(crate::store::now_ms())
            .arg(if commit.revive { "1" } else { "0" });
        for (_, value) in commit.expect.iter().chain(commit.writes.iter()) {
            match value {
                Some(bytes) => inv.arg("1").arg(bytes.as_slice()),
                None => inv.arg("0").arg(""),
            };
        }
        for (record, _) in &commit.writes {
            match record {
                Record::Level { location, .. } => inv.arg(location.to_string()),
                _ => inv.arg(""),
            };
        }
        for line in &commit.lines {
            let old = if line.old == 0 { Vec::new() } else { member(&line.key, line.old) };
            let new = if line.qty == 0 { Vec::new() } else { member(&line.key, line.qty) };
            inv.arg(old).arg(new);
        }
        for mark in &dirty {
            inv.arg(mark);
        }
        // Not repeatable: a second run after a dropped connection would report the event as
        // already processed even though this call applied it. The caller's retry of the whole
        // event reads that answer correctly.
        let cluster = matches!(self.conn, super::conn::Conn::Cluster(_));
        let outcome: i64 = if due && !cluster {
            // On one Redis the touch is sent right behind the commit, down the same connection,
            // not after its answer: one round trip, and the server still runs it after the
            // commit, as `due.rs` needs. (On a Cluster the two go to different nodes, which keep
            // no order between them: there the touch waits for the commit's answer.) A touch
            // after a conflict only makes the shop due for nothing. Also when the event was
            // processed before: an error here reaches the caller although the commit went
            // through, and its retry, answered "already processed", touches the index then.
            let shops = [shop.to_string()];
            let (outcome, touched) =
                tokio::join!(self.invoke(false, &inv), self.set_due_impl(&shops, crate::store::now_ms()));
            touched?;
            outcome?
        } else {
            let outcome = self.invoke(false, &inv).await?;
            if outcome >= 0 && due {
                self.set_due_impl(&[shop.to_string()], crate::store::now_ms()).await?;
            }
            outcome
        };
        Ok(match outcome {
            1 => CommitOutcome::Applied,
            0 => CommitOutcome::AlreadyProcessed,
            -2 => {
                // The shop was listed before the commit was refused: take that back.
                self.unlist_shop(shop).await?;
                CommitOutcome::Gone
            }
            _ => CommitOutcome::Conflict,
        })
    }

    pub(super) async fn ledger_dirty_impl(&self, shop: &str) -> Result<Dirty, StoreError> {
        let mut cmd = redis::cmd("ZRANGE");
        cmd.arg(self.keys.dirty(shop)).arg(0).arg(-1);
        let marks: Vec<String> = self.query(&cmd).await?;
        Dirty::from_marks(marks.iter().map(String::as_str))
    }
}
