//! Reading the queue: blocking reads on the dedicated connection, take-over of entries whose
//! consumer died, turning raw entries into [`QueueEntry`]s, and replay of dead letters.

use std::sync::PoisonError;
use std::time::Duration;

use redis::Value;

use super::reply::{self, RawEntry};
use super::{RedisStore, corrupt, millis, unavailable};
use crate::store::keys::GROUP;
use crate::store::{
    Buried, DeadLetter, Envelope, EnvelopeMeta, Lane, LedgerCommit, Mark, Queue, QueueEntry, StoreError, now_ms,
};

/// How much longer than its block time a blocking read may go unanswered before its connection
/// counts as dead. Generous: a slow answer is harmless, a read that hangs forever is not.
const READ_MARGIN: Duration = Duration::from_secs(3);

/// Dead letters read per round of a replay of all of them.
const REPLAY_BATCH: usize = 100;

const UNDECODABLE: &str = "undecodable queue entry";

impl RedisStore {
    /// `XREADGROUP … BLOCK` on the dedicated connection.
    pub(super) async fn read_group(
        &self,
        consumer: &str,
        lane: Lane,
        max: usize,
        block: Duration,
    ) -> Result<Vec<RawEntry>, StoreError> {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP").arg(GROUP).arg(consumer).arg("COUNT").arg(max);
        // BLOCK 0 would wait forever; without BLOCK the read returns at once.
        let block_ms = millis(block);
        if block_ms > 0 {
            cmd.arg("BLOCK").arg(block_ms);
        }
        cmd.arg("STREAMS").arg(self.keys.queue(lane)).arg(">");
        let deadline = block.saturating_add(READ_MARGIN);

        let Some(slot) = self.blocking.get(&lane) else {
            return Err(StoreError::Unavailable(format!("no lane {} in this store", lane.label())));
        };
        let mut slot = slot.lock().await;
        let mut group_recreated = false;
        loop {
            // Taken out of the slot while in use: if this future is dropped mid-read (shutdown),
            // or the read fails, the connection is dropped with it instead of being reused with
            // an answer still on its way.
            let mut conn = match slot.take() {
                Some(conn) => conn,
                None => self.source.blocking_connection().await.map_err(unavailable)?,
            };
            match tokio::time::timeout(deadline, cmd.query_async::<Value>(&mut conn)).await {
                Ok(Ok(value)) => {
                    *slot = Some(conn);
                    return reply::read(value).map_err(corrupt);
                }
                Ok(Err(e)) if e.code() == Some("NOGROUP") && !group_recreated => {
                    *slot = Some(conn);
                    if lane != Lane::Legacy {
                        tracing::warn!("consumer group missing (Redis restarted empty?); creating it again");
                    }
                    self.create_group(lane).await?;
                    group_recreated = true;
                }
                Ok(Err(e)) => return Err(unavailable(e)),
                Err(_) => {
                    return Err(StoreError::Unavailable(format!("blocking read got no answer within {deadline:?}")));
                }
            }
        }
    }

    /// `XAUTOCLAIM`, then the delivery count of each claimed entry from `XPENDING`.
    pub(super) async fn auto_claim(
        &self,
        consumer: &str,
        lane: Lane,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<(RawEntry, u64)>, StoreError> {
        let queue = self.keys.queue(lane);
        // Resume where the last scan stopped: XAUTOCLAIM looks at no more than 10×COUNT pending
        // entries per call, and always starting at 0-0 would never get past busy ones at the front.
        let start = self
            .reclaim_cursor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&lane)
            .cloned()
            .unwrap_or_else(|| "0-0".into());
        let mut cmd = redis::cmd("XAUTOCLAIM");
        cmd.arg(&queue).arg(GROUP).arg(consumer).arg(millis(min_idle)).arg(&start).arg("COUNT").arg(max);
        let cmd = &cmd;
        // Not repeatable: a second run would claim nothing (idle times were just reset) and lose
        // what the first claimed until the next take-over.
        let value = match self.run(false, |mut c| async move { cmd.query_async::<Value>(&mut c).await }).await {
            Ok(value) => value,
            Err(e) if e.code() == Some("NOGROUP") => {
                if lane != Lane::Legacy {
                    tracing::warn!("consumer group missing (Redis restarted empty?); creating it again");
                }
                self.create_group(lane).await?;
                return Ok(Vec::new());
            }
            Err(e) => return Err(unavailable(e)),
        };
        let claim = reply::autoclaim(value).map_err(corrupt)?;
        self.reclaim_cursor.lock().unwrap_or_else(PoisonError::into_inner).insert(lane, claim.next);

        let (live, gone): (Vec<_>, Vec<_>) = claim.claimed.into_iter().partition(|e| e.fields.is_some());
        if !gone.is_empty() {
            // Before Redis 7, entries deleted while pending stay in the pending list and come back
            // on every scan; nothing is left to process, so drop them from it.
            let mut ack = redis::cmd("XACK");
            ack.arg(&queue).arg(GROUP).arg(gone.iter().map(|e| e.id.as_str()).collect::<Vec<_>>());
            self.query::<Value>(&ack).await?;
        }
        if live.is_empty() {
            return Ok(Vec::new());
        }

        let mut pipe = redis::pipe();
        for entry in &live {
            pipe.cmd("XPENDING").arg(&queue).arg(GROUP).arg(&entry.id).arg(&entry.id).arg(1);
        }
        let pipe = &pipe;
        let counts = self
            .run(true, |mut c| async move { pipe.query_async::<Vec<Value>>(&mut c).await })
            .await
            .map_err(unavailable)?;
        let mut out = Vec::with_capacity(live.len());
        for (entry, count) in live.into_iter().zip(counts) {
            // None: settled by another consumer since the claim; nothing to hand out.
            if let Some(deliveries) = reply::pending_deliveries(count).map_err(corrupt)? {
                out.push((entry, deliveries));
            }
        }
        Ok(out)
    }

    /// Decodes entries for the caller. An entry that does not decode is dead-lettered here, not
    /// handed out (no consumer could process it) and not dropped (it is a webhook we accepted).
    pub(super) async fn to_entries(&self, lane: Lane, raw: Vec<(RawEntry, u64)>) -> Vec<QueueEntry> {
        let mut out = Vec::with_capacity(raw.len());
        for (raw, deliveries) in raw {
            match raw.field("e").map(Envelope::decode) {
                Some(Ok(envelope)) => out.push(QueueEntry { lane, id: raw.id, envelope, deliveries }),
                _ => self.bury_undecodable(lane, raw, deliveries).await,
            }
        }
        out
    }

    async fn bury_undecodable(&self, lane: Lane, raw: RawEntry, deliveries: u64) {
        let envelope = placeholder(&raw);
        let entry = QueueEntry { lane, id: raw.id, envelope, deliveries };
        match self.dead_letter(&entry, UNDECODABLE).await {
            Ok(()) => tracing::warn!(id = %entry.id, "undecodable queue entry dead-lettered"),
            Err(e) => tracing::warn!(
                id = %entry.id,
                error = %e,
                "could not dead-letter an undecodable queue entry; it will be re-claimed"
            ),
        }
    }

    pub(super) async fn replay_one_id(&self, id: &str) -> Result<u64, StoreError> {
        let Some((lane, id)) = self.parse_dead_id(id) else {
            return Ok(0);
        };
        let mut cmd = redis::cmd("XRANGE");
        cmd.arg(self.keys.dead(lane)).arg(id).arg(id);
        let mut replayed = 0;
        for raw in reply::entries(self.query(&cmd).await?).map_err(corrupt)? {
            replayed += self.replay_entry(lane, &raw).await?;
        }
        Ok(replayed)
    }

    /// Replays every dead letter of every lane.
    pub(super) async fn replay_all(&self) -> Result<u64, StoreError> {
        let mut replayed = 0;
        for lane in self.every_lane() {
            replayed += self.replay_lane(lane).await?;
        }
        Ok(replayed)
    }

    /// Replays every dead letter of `lane` up to the newest one at the start, so entries that
    /// fail again while the replay runs are not replayed round and round.
    async fn replay_lane(&self, lane: Lane) -> Result<u64, StoreError> {
        let dead = self.keys.dead(lane);
        let mut newest = redis::cmd("XREVRANGE");
        newest.arg(&dead).arg("+").arg("-").arg("COUNT").arg(1);
        let Some(last) = reply::entries(self.query(&newest).await?).map_err(corrupt)?.pop() else {
            return Ok(0);
        };
        let mut start = "-".to_string();
        let mut replayed = 0;
        loop {
            let mut cmd = redis::cmd("XRANGE");
            cmd.arg(&dead).arg(&start).arg(&last.id).arg("COUNT").arg(REPLAY_BATCH);
            let batch = reply::entries(self.query(&cmd).await?).map_err(corrupt)?;
            for raw in &batch {
                replayed += self.replay_entry(lane, raw).await?;
            }
            match batch.last() {
                // `(id` is an exclusive start (Redis 6.2+).
                Some(raw) if batch.len() == REPLAY_BATCH => start = format!("({}", raw.id),
                _ => return Ok(replayed),
            }
        }
    }

    /// Replays one dead letter; 0 when it was gone. A webhook goes back into its lane's queue
    /// with a fresh attempt count. An effect is marked in its shop's ledger by an ordinary
    /// commit of the mark alone (on the shop's slot), then its dead letter goes (on the lane's
    /// slot): two steps, because no script may span both slots, in the order that loses
    /// nothing. A crash or a second replay between them marks it again, which is harmless.
    async fn replay_entry(&self, lane: Lane, raw: &RawEntry) -> Result<u64, StoreError> {
        if let Buried::Effect { shop, mark } = buried_of(raw)? {
            let commit = LedgerCommit { event: None, marks: vec![mark], ..LedgerCommit::default() };
            self.ledger_commit_impl(&shop, &commit).await?;
            let mut del = redis::cmd("XDEL");
            del.arg(self.keys.dead(lane)).arg(&raw.id);
            return self.query::<u64>(&del).await;
        }
        let payload = match raw.field("e").map(Envelope::decode) {
            Some(Ok(mut envelope)) => {
                envelope.meta.attempts = 0;
                envelope.encode()
            }
            // Queued as it was: reading it dead-letters it again, with the reason.
            _ => raw.field("e").unwrap_or_default().to_vec(),
        };
        let mut inv = self.scripts.replay.prepare_invoke();
        inv.key(self.keys.dead(lane)).key(self.keys.queue(lane)).arg(&raw.id).arg(payload);
        // Repeatable: the script queues the entry only if it deletes the dead letter.
        self.invoke(true, &inv).await
    }

    /// The lane and stream id of a dead letter's id as [`dead_letter_of`] wrote it.
    fn parse_dead_id<'a>(&self, id: &'a str) -> Option<(Lane, &'a str)> {
        let (lane, stream_id) = match id.split_once('.') {
            Some((shard, stream_id)) => {
                (Lane::Shard(shard.parse().ok().filter(|s| *s < self.keys.shards())?), stream_id)
            }
            None => (Lane::Legacy, id),
        };
        reply::is_stream_id(stream_id).then_some((lane, stream_id))
    }
}

/// A dead-letter stream entry as callers see it. Its id names its lane (`<shard>.<stream id>`;
/// the bare stream id in the legacy stream, as before the shards), so it replays from there.
pub(super) fn dead_letter_of(lane: Lane, raw: &RawEntry) -> Result<DeadLetter, StoreError> {
    Ok(DeadLetter {
        id: match lane {
            Lane::Legacy => raw.id.clone(),
            Lane::Shard(s) => format!("{s}.{}", raw.id),
        },
        reason: raw.text("reason").unwrap_or_default(),
        failed_at_ms: raw.text("at").and_then(|at| at.parse().ok()).unwrap_or(0),
        buried: buried_of(raw)?,
    })
}

/// What a dead-letter entry stands for. An effect has the fields `shop` and `mark`; a webhook
/// (and an effect written before effects had a form of their own) the envelope in `e`.
pub(super) fn buried_of(raw: &RawEntry) -> Result<Buried, StoreError> {
    if let Some(mark) = raw.text("mark") {
        let shop = raw.text("shop").ok_or_else(|| StoreError::Corrupt(format!("dead letter {}: no shop", raw.id)))?;
        return Ok(Buried::Effect { shop, mark: Mark::parse(&mark)? });
    }
    Ok(Buried::from_envelope(match raw.field("e").map(Envelope::decode) {
        Some(Ok(envelope)) => envelope,
        _ => placeholder(raw),
    }))
}

/// Stands in for an entry whose envelope does not decode, keeping its raw bytes as the body so
/// nothing is lost and an operator can inspect it.
fn placeholder(raw: &RawEntry) -> Envelope {
    Envelope {
        meta: EnvelopeMeta {
            topic: "unknown".into(),
            shop: String::new(),
            webhook_id: format!("undecodable:{}", raw.id),
            event_id: None,
            api_version: None,
            triggered_at: None,
            // A stream id starts with the time it was added, which is when the entry was queued.
            received_at_ms: raw.id.split('-').next().and_then(|ms| ms.parse().ok()).unwrap_or_else(now_ms),
            attempts: 0,
        },
        body: raw.field("e").unwrap_or_default().to_vec().into(),
    }
}
