//! The running service: the published state readers see, and the single writer that changes
//! it.
//!
//! The writer takes actions from a queue in batches. It applies each to its own working copy
//! (a refused one changes nothing and is answered at once), makes the accepted ones durable
//! in one journal transaction, then applies them to the published state, broadcasts their
//! notices and acknowledges them. So a reader never sees a change that is not on disk, and an
//! acknowledged change is never lost.
//!
//! Whatever fails, the working copy is left equal to the journal's replay: an action that
//! fails at any stage (refused at once, or failing after it changed the copy) is undone by
//! rebuilding the copy from the published state and the batch's actions accepted before it;
//! a batch the store refuses is undone the same way. A commit whose answer is lost is settled
//! by asking the store, again and again with backoff; if the store cannot say, the writer
//! stops (the server then exits and a restart rebuilds from the journal) rather than guess.
//! Snapshots are taken only of a copy whose count matches the journal's.
//!
//! On start, [`recover`] replays the journal into a fresh state and checks it.

use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
#[allow(clippy::disallowed_types)]
use std::time::Instant;

use tokio::sync::{broadcast, mpsc, oneshot};

use crate::faults::Faults;
use crate::metrics::Metrics;
use crate::state::{Action, Applied, Notice, State};
use crate::webhook::Delivery;
use crate::{Error, Journal};

/// Most actions made durable in one transaction.
pub const MAX_BATCH: usize = 256;
/// Commands between two snapshots.
pub const SNAPSHOT_EVERY: u64 = 10_000;

/// An action waiting for the writer, with where to send the answer.
#[derive(Debug)]
struct Request {
    action: Action,
    reply: oneshot::Sender<Result<(u64, Applied), Error>>,
}

/// What every request handler shares.
#[derive(Debug)]
pub struct Shared {
    state: RwLock<State>,
    pub metrics: Metrics,
    pub notices: broadcast::Sender<Arc<Notice>>,
    writer: mpsc::Sender<Request>,
    /// Wall-clock time of the last stored price, for the staleness guard; `None` until the
    /// first price after a start.
    last_price_at: Mutex<Option<Instant>>,
    pub webhooks: Option<mpsc::Sender<Delivery>>,
    pub backend: crate::Backend,
    stop: tokio::sync::watch::Sender<bool>,
    /// Failures to inject into the writer (tests only; all off otherwise).
    pub faults: Arc<Faults>,
    /// Set when the writer stopped because the store could not say whether a batch was
    /// stored: the process must exit with an error, and a restart rebuilds from the journal.
    halted: std::sync::atomic::AtomicBool,
}

impl Shared {
    /// The published state, for reading. Hold it briefly: the writer waits for readers.
    pub fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues an action for the writer and waits until it is durable (or refused).
    pub async fn submit(&self, action: Action) -> Result<(u64, Applied), Error> {
        let (reply, answer) = oneshot::channel();
        self.writer.send(Request { action, reply }).await.map_err(|_| {
            Error::Unavailable("the writer has stopped; the server is shutting down".into())
        })?;
        answer.await.map_err(|_| {
            Error::Unavailable(
                "the writer stopped before answering; the action may not be stored".into(),
            )
        })?
    }

    /// Ends live streams: the server is going down.
    pub fn shutdown(&self) {
        self.stop.send_replace(true);
        let _ = self.notices.send(Arc::new(Notice {
            account: None,
            kind: "shutdown",
            data: serde_json::Value::Null,
        }));
    }

    /// Resolves once [`Self::shutdown`] was called.
    pub async fn stopped(&self) {
        let mut rx = self.stop.subscribe();
        let _ = rx.wait_for(|stopped| *stopped).await;
    }

    /// Whether the writer stopped because the store could not confirm a commit.
    pub fn halted(&self) -> bool {
        self.halted.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Whether the writer still takes actions.
    pub fn writer_alive(&self) -> bool {
        !self.writer.is_closed()
    }

    /// Wall-clock seconds since the last price, `None` when none came since the start.
    #[allow(clippy::disallowed_methods)]
    pub fn price_age_secs(&self) -> Option<u64> {
        let at = *self.last_price_at.lock().unwrap_or_else(|p| p.into_inner());
        at.map(|t| t.elapsed().as_secs())
    }

    /// Refuses with [`Error::Stale`] when the price is older than the market allows.
    pub fn fresh_price(&self) -> Result<(), Error> {
        let limit = self.read().settings().stale_after_secs;
        match self.price_age_secs() {
            Some(age) if age <= limit => Ok(()),
            Some(age) => Err(Error::Stale { age_secs: age, limit_secs: limit }),
            None => Err(Error::Stale { age_secs: u64::MAX, limit_secs: limit }),
        }
    }

    #[allow(clippy::disallowed_methods)]
    fn priced_now(&self) {
        *self.last_price_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }
}

/// Rebuilds the state: the newest snapshot, then the journal's commands after it; with no
/// snapshot (or a damaged one, which is reported and ignored), every command from genesis.
/// An empty journal gets `genesis` written first. What was rebuilt is checked: every entry
/// applies, the count matches the journal, tokens are conserved and every position's books
/// balance.
pub async fn recover(journal: &mut Journal, genesis: Action) -> Result<State, Error> {
    rebuild(journal, genesis, true).await
}

/// Like [`recover`] but ignoring snapshots: the state every command from genesis gives. A
/// snapshot's state must equal it.
pub async fn replay_from_genesis(journal: &mut Journal, genesis: Action) -> Result<State, Error> {
    rebuild(journal, genesis, false).await
}

async fn rebuild(journal: &mut Journal, genesis: Action, snapshots: bool) -> Result<State, Error> {
    let first = journal.read_page(1, 1).await?;
    let mut state = match first.first() {
        None => {
            let state = State::genesis(&genesis)?;
            let body =
                serde_json::to_string(&genesis).map_err(|e| Error::Internal(e.to_string()))?;
            journal.append(&body).await?;
            state
        }
        Some(entry) => {
            let snapshot = if snapshots { journal.latest_snapshot().await? } else { None };
            match snapshot.map(|s| decode(&s)) {
                Some(Ok(state)) => state,
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "ignoring the snapshot; replaying the whole journal");
                    State::genesis(&parse(entry)?)?
                }
                None => State::genesis(&parse(entry)?)?,
            }
        }
    };
    let mut from = state.applied() + 1;
    loop {
        let page = journal.read_page(from, 4096).await?;
        let Some(last) = page.last().map(|e| e.seq) else { break };
        for entry in &page {
            let action = parse(entry)?;
            state.apply(&action).map_err(|e| {
                Error::Internal(format!("journal entry {} no longer applies ({e}); the engine changed since it was written", entry.seq))
            })?;
        }
        from = last + 1;
    }
    let stored = journal.next_seq() - 1;
    if state.applied() != stored {
        return Err(Error::Internal(format!("replayed {} entries of {stored}", state.applied())));
    }
    if !state.conserved() {
        return Err(Error::Internal("the replayed market does not conserve its tokens".into()));
    }
    if !state.books_balance()? {
        return Err(Error::Internal(
            "a replayed position's profit and loss does not add up".into(),
        ));
    }
    Ok(state)
}

/// The state as a snapshot: CBOR, with its SHA-256.
pub fn encode(state: &State) -> Result<crate::journal::Snapshot, Error> {
    let mut body = Vec::new();
    ciborium::into_writer(state, &mut body)
        .map_err(|e| Error::Internal(format!("snapshot: {e}")))?;
    let sha256 = crate::api::sha256_hex(&body);
    Ok(crate::journal::Snapshot { seq: state.applied(), sha256, body })
}

/// A snapshot's state, once its hash and its sequence number check out.
pub fn decode(snapshot: &crate::journal::Snapshot) -> Result<State, Error> {
    if crate::api::sha256_hex(&snapshot.body) != snapshot.sha256 {
        return Err(Error::Internal(format!(
            "the snapshot after command {} does not match its SHA-256",
            snapshot.seq
        )));
    }
    let state: State = ciborium::from_reader(snapshot.body.as_slice()).map_err(|e| {
        Error::Internal(format!("the snapshot after command {} does not decode: {e}", snapshot.seq))
    })?;
    if state.format() != crate::state::STATE_FORMAT {
        return Err(Error::Internal(format!(
            "the snapshot after command {} is of an older layout ({}, this build writes {})",
            snapshot.seq,
            state.format(),
            crate::state::STATE_FORMAT
        )));
    }
    if state.applied() != snapshot.seq {
        return Err(Error::Internal(format!(
            "the snapshot labelled {} holds the state after {}",
            snapshot.seq,
            state.applied()
        )));
    }
    Ok(state)
}

fn parse(entry: &crate::Entry) -> Result<Action, Error> {
    serde_json::from_str(&entry.body)
        .map_err(|e| Error::Internal(format!("journal entry {} is not an action: {e}", entry.seq)))
}

/// Starts the writer over a recovered state; returns what the handlers share and the
/// writer's task, which ends once every `Shared` is dropped and the queue is drained.
pub fn start(
    state: State,
    journal: Journal,
    metrics: Metrics,
    webhooks: Option<mpsc::Sender<Delivery>>,
) -> (Arc<Shared>, tokio::task::JoinHandle<Journal>) {
    start_with(state, journal, metrics, webhooks, SNAPSHOT_EVERY)
}

/// [`start`] with a snapshot every `snapshot_every` commands (and one on a clean stop).
pub fn start_with(
    state: State,
    journal: Journal,
    metrics: Metrics,
    webhooks: Option<mpsc::Sender<Delivery>>,
    snapshot_every: u64,
) -> (Arc<Shared>, tokio::task::JoinHandle<Journal>) {
    let (tx, rx) = mpsc::channel(4096);
    let (notices, _) = broadcast::channel(1024);
    let backend = journal.backend();
    let shared = Arc::new(Shared {
        state: RwLock::new(state.clone()),
        metrics,
        notices,
        writer: tx,
        last_price_at: Mutex::new(None),
        webhooks,
        backend,
        stop: tokio::sync::watch::channel(false).0,
        faults: Arc::default(),
        halted: std::sync::atomic::AtomicBool::new(false),
    });
    let writer = Writer {
        working: state,
        journal,
        faults: shared.faults.clone(),
        snapshot_every: snapshot_every.max(1),
    };
    let task = tokio::spawn(writer.run(Arc::downgrade(&shared), rx));
    (shared, task)
}

/// The single writer: its working copy (the published state plus what it is deciding on) and
/// the journal.
struct Writer {
    working: State,
    journal: Journal,
    faults: Arc<Faults>,
    snapshot_every: u64,
}

/// An action applied to the working copy, waiting for its batch's commit.
type Accepted = (Request, Applied, String);

/// Tries to settle whether a lost commit landed: this many questions to the store, the wait
/// doubling from 25 ms (about 6.4 s in all).
const SETTLE_TRIES: u32 = 8;

impl Writer {
    async fn run(
        mut self,
        shared: std::sync::Weak<Shared>,
        mut rx: mpsc::Receiver<Request>,
    ) -> Journal {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let mut snapshot_at = self.working.applied();
        let mut consistent = true;
        while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
            let Some(shared) = shared.upgrade() else { break };
            let accepted = self.apply_batch(&shared, &mut batch);
            if accepted.is_empty() {
                continue;
            }
            match self.store(&shared, accepted).await {
                Stored::Yes => {
                    if self.working.applied() >= snapshot_at + self.snapshot_every {
                        self.snapshot().await;
                        snapshot_at = self.working.applied();
                    }
                }
                Stored::No => {}
                Stored::Unknown => {
                    consistent = false;
                    shared.halted.store(true, std::sync::atomic::Ordering::SeqCst);
                    shared.shutdown();
                    break;
                }
            }
        }
        if consistent && self.working.applied() > snapshot_at {
            self.snapshot().await;
        }
        self.journal
    }

    /// Applies each request to the working copy; answers the ones that fail and returns the
    /// rest, with their journal bodies.
    fn apply_batch(&mut self, shared: &Shared, batch: &mut Vec<Request>) -> Vec<Accepted> {
        let mut accepted: Vec<Accepted> = Vec::with_capacity(batch.len());
        for request in batch.drain(..) {
            let result = self.working.apply(&request.action).and_then(|applied| {
                if Faults::trip(&self.faults.apply) {
                    return Err(Error::Internal(
                        "injected: the action failed after applying".into(),
                    ));
                }
                let body = serde_json::to_string(&request.action)
                    .map_err(|e| Error::Internal(e.to_string()))?;
                Ok((applied, body))
            });
            match result {
                Ok((applied, body)) => accepted.push((request, applied, body)),
                Err(e) => {
                    // Whatever the action did to the copy before it failed is undone.
                    self.rebuild(shared, &accepted);
                    let outcome =
                        if matches!(e, Error::Internal(_)) { "failed" } else { "refused" };
                    shared.metrics.command(request.action.op(), outcome);
                    let _ = request.reply.send(Err(e));
                }
            }
        }
        accepted
    }

    /// The working copy made again: the published state (what the journal holds) and then
    /// `accepted`, the batch's actions that applied before.
    fn rebuild(&mut self, shared: &Shared, accepted: &[Accepted]) {
        self.working = shared.read().clone();
        for (request, applied, _) in accepted {
            match self.working.apply(&request.action) {
                Ok(again) if again == *applied => {}
                other => tracing::error!(
                    op = request.action.op(),
                    ?other,
                    "an accepted action applied differently when the working copy was rebuilt"
                ),
            }
        }
    }

    /// Makes `accepted` durable in one transaction and publishes it, or answers every request
    /// with why not and undoes the batch.
    async fn store(&mut self, shared: &Shared, accepted: Vec<Accepted>) -> Stored {
        let bodies: Vec<&str> = accepted.iter().map(|(_, _, b)| b.as_str()).collect();
        #[allow(clippy::disallowed_methods)]
        let started = Instant::now();
        let first = self.journal.next_seq();
        let expected_last = first + bodies.len() as u64 - 1;
        let appended = if Faults::trip(&self.faults.append) {
            Err(Error::Unavailable("injected: the store refused the batch".into()))
        } else {
            let done = self.journal.append_batch(&bodies).await.map_err(Error::from);
            match done {
                Ok(_) if Faults::trip(&self.faults.answer_lost) => {
                    Err(Error::Unavailable("injected: the commit's answer was lost".into()))
                }
                other => other,
            }
        };
        let outcome = match appended {
            Ok(_) => Ok(()),
            // A commit whose answer was lost may have landed: ask the store.
            Err(e) => match self.settle(first, expected_last).await {
                Some(true) => Ok(()),
                Some(false) => Err(e),
                None => {
                    tracing::error!(error = %e, "the store cannot say whether a batch was stored; stopping the writer");
                    for (request, _, _) in accepted {
                        shared.metrics.command(request.action.op(), "unavailable");
                        let _ = request.reply.send(Err(Error::Unavailable(
                            "the store did not confirm whether the command was stored; the \
                             server is stopping and will rebuild from its journal on restart"
                                .into(),
                        )));
                    }
                    return Stored::Unknown;
                }
            },
        };
        match outcome {
            Ok(()) => {
                #[allow(clippy::disallowed_methods)]
                let took = started.elapsed().as_secs_f64();
                shared.metrics.commit(took, accepted.len(), expected_last);
                publish(shared, first, accepted);
                Stored::Yes
            }
            Err(e) => {
                tracing::error!(error = %e, commands = accepted.len(), "journal append failed; nothing applied");
                self.working = shared.read().clone();
                for (request, _, _) in accepted {
                    shared.metrics.command(request.action.op(), "unavailable");
                    let _ = request.reply.send(Err(Error::Unavailable(format!(
                        "the command could not be stored ({e}); nothing changed, retry later"
                    ))));
                }
                Stored::No
            }
        }
    }

    /// After a failed append: `Some(true)` when the store holds the batch `first..=last` (its
    /// commit landed), `Some(false)` when it holds none of it, `None` when it cannot say.
    async fn settle(&mut self, first: u64, last: u64) -> Option<bool> {
        let mut wait = std::time::Duration::from_millis(25);
        for _ in 0..SETTLE_TRIES {
            let answer = if Faults::trip(&self.faults.last_stored) {
                None
            } else {
                self.journal.last_stored().await.ok()
            };
            match answer {
                Some(stored) if stored == last => {
                    self.journal.resync(last);
                    return Some(true);
                }
                Some(stored) if stored + 1 == first => return Some(false),
                Some(stored) => {
                    tracing::error!(stored, first, last, "the store holds part of a batch");
                    return None;
                }
                None => {
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
            }
        }
        None
    }

    /// Stores a snapshot of the working copy, which equals the journal's replay here (every
    /// batch before was stored and published, or undone); a failure is logged, not fatal:
    /// the journal has everything.
    async fn snapshot(&self) {
        let seq = self.working.applied();
        let saved = if seq + 1 != self.journal.next_seq() {
            Err(Error::Internal(format!(
                "the working copy holds {seq} commands, the journal {}",
                self.journal.next_seq() - 1
            )))
        } else if Faults::trip(&self.faults.snapshot) {
            Err(Error::Unavailable("injected: the snapshot write failed".into()))
        } else {
            match encode(&self.working) {
                Ok(s) => self.journal.save_snapshot(&s).await.map_err(Error::from),
                Err(e) => Err(e),
            }
        };
        match saved {
            Ok(()) => tracing::info!(seq, "snapshot stored"),
            Err(e) => tracing::warn!(error = %e, seq, "no snapshot stored"),
        }
    }
}

/// How a batch's commit ended.
enum Stored {
    Yes,
    No,
    /// The store could not say; the working copy may differ from the journal.
    Unknown,
}

/// Applies stored actions to the published state and answers their requests.
fn publish(shared: &Shared, first: u64, accepted: Vec<(Request, Applied, String)>) {
    {
        let mut state = shared.state.write().unwrap_or_else(|p| p.into_inner());
        for (request, applied, _) in &accepted {
            match state.apply(&request.action) {
                Ok(again) if again == *applied => {}
                other => tracing::error!(
                    op = request.action.op(),
                    ?other,
                    "the published state disagrees with the writer's"
                ),
            }
        }
        shared.metrics.open_positions(state.market_view().map(|m| m.open_positions).unwrap_or(0));
    }
    for (i, (request, applied, _)) in accepted.into_iter().enumerate() {
        let seq = first + i as u64;
        shared.metrics.command(request.action.op(), "stored");
        if matches!(request.action, Action::Price { .. }) {
            shared.priced_now();
        }
        for notice in &applied.notices {
            if notice.kind == "alert" {
                deliver(shared, notice);
            }
            let _ = shared.notices.send(Arc::new(notice.clone()));
        }
        let _ = request.reply.send(Ok((seq, applied)));
    }
}

fn deliver(shared: &Shared, notice: &Notice) {
    let (Some(tx), Some(account)) = (&shared.webhooks, notice.account) else { return };
    let Some(url) = shared.read().webhook_of(account) else { return };
    if tx.try_send(Delivery { url, body: notice.data.clone() }).is_err() {
        shared.metrics.webhook("dropped");
    }
}
