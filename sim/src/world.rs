//! The world: the real saga (`checkout_edge::saga::step`) for every session, driven by a shell
//! that does what the `CheckoutSession` Durable Object does, on a simulated clock, with every
//! choice (who acts, when, which fault) drawn from one seeded generator.
//!
//! The shell, as the object does it: a step's new record and its intents are committed together
//! (one snapshot per session); the intents a step returns run in order, one at a time, each
//! answer fed back as `Input::Answer` on the same chain (one chain per request, several chains of
//! one session may be under way at once, as requests interleave at the object's awaits); the
//! alarm is re-set from `next_alarm_at_s` after every commit; the cron sends `Reconcile` to the
//! sessions `needs_tracking` names. A restart drops every chain of the session (answers on their
//! way are lost) and resumes from the committed snapshot, intents included, then delivers `Alarm`.
//! Only the chain started by a pay request carries the pay password.

use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use checkout_core::allocation::PointsRules;
use checkout_core::api::{
    AllocationRequest, CaptureMode, CreateRefundRequest, CreateSessionRequest, PaymentMethod,
    PaymentStatus, PointsAdjustmentKind, RefundStatus, ResolveAction, SessionStatus,
};
use checkout_core::error::ErrorDetail;
use checkout_core::{Currency, ErrorCode, Money};
use checkout_edge::saga::record::PaymentRecord;
use checkout_edge::saga::{
    self, Answer, Call, CallbackOutcome, Ctx, Input, Intent, MethodLimits, NotifiedEvent, PayInput,
    ProviderCall, RefundInput, SessionRecord, WalletCall,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::check;
use crate::faults::{Dice, Fault, FaultCounts};
use crate::providers::{Mismatch, Notice, PayState, Provider, Which};
use crate::trace::Trace;
use crate::wallet::{self, Wallet};

mod network;
mod people;

/// How long the shell waits for an answer before it takes the call as lost (the connectors'
/// timeout).
const CALL_TIMEOUT_S: i64 = 10;
/// The calls one request may run (`objects/session.rs`).
const MAX_STEPS_PER_REQUEST: usize = 16;
/// The reconciliation cron's period (`wrangler.toml`: every 5 minutes).
const CRON_EVERY_S: i64 = 300;
/// WeChat Pay's notification retry schedule after an unacknowledged delivery.
const NOTIFY_RETRY_S: [i64; 15] = [
    15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
];
/// The longest quiet phase before the world is declared stuck (refunds may take a day to be
/// handed to review).
const QUIET_LIMIT_S: i64 = 3 * 24 * 3600;
/// ... and the most steps it may take.
const QUIET_STEPS: u64 = 200_000;
const START_S: i64 = 1_800_000_000;

/// What to run.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub seed: u64,
    /// Events processed with faults on, before the quiet phase.
    pub steps: u64,
    /// Lines of trace kept for a failure report.
    pub keep: usize,
    /// Keep every line (for printing a whole replay).
    pub full_trace: bool,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub seed: u64,
    /// The faulty steps asked for (what a replay must ask for again).
    pub asked_steps: u64,
    pub steps: u64,
    pub hash: u64,
    pub faults: FaultCounts,
    pub sim_seconds: i64,
    pub failure: Option<Failure>,
    pub trace: Option<Vec<String>>,
    /// How the sessions ended: paid, expired, in review, with refunds.
    pub endings: BTreeMap<String, u64>,
}

#[derive(Debug, Clone)]
pub struct Failure {
    pub step: u64,
    pub invariant: String,
    pub tail: Vec<String>,
}

/// Who sent an input, which decides what happens when it fails.
#[derive(Debug, Clone, PartialEq, Eq)]
enum From {
    /// The shopper's browser; `password` for a pay request.
    Shopper {
        password: bool,
    },
    Merchant,
    /// A provider's notification, retried on failure.
    Notifier {
        attempt: usize,
    },
    Alarm,
    Cron,
    /// The answer on chain `chain`.
    Chain(u64),
}

/// What a call's fate is, drawn when it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Normal,
    LostBefore,
    LostAfter,
    Unavailable,
    Stall,
}

#[derive(Debug, Clone)]
enum Event {
    Input {
        s: usize,
        input: Input,
        from: From,
    },
    Arrive {
        chain: u64,
        s: usize,
        password: bool,
        intent: Intent,
        fate: Fate,
    },
    Answer {
        chain: u64,
        intent_id: String,
        answer: Answer,
    },
    Alarm {
        s: usize,
        generation: u64,
        throws: u32,
    },
    Restart {
        s: usize,
    },
    Shopper {
        which: Which,
        reference: String,
        approve: bool,
    },
    Cron,
    /// A shopper opens a new checkout (while faults are on, one every minute or so).
    NewSession,
    WalletAlarm {
        customer: usize,
    },
    ProviderTick,
}

impl Event {
    fn name(&self) -> String {
        match self {
            Event::Input { s, input, from } => format!("s{s} {from:?} {}", input_name(input)),
            Event::Arrive {
                chain,
                intent,
                fate,
                ..
            } => format!("c{chain} arrive {} {fate:?}", intent.id),
            Event::Answer {
                chain,
                intent_id,
                answer,
            } => format!("c{chain} answer {intent_id} {}", answer_name(answer)),
            Event::Alarm {
                s,
                generation,
                throws,
            } => format!("s{s} alarm g{generation} throws={throws}"),
            Event::Restart { s } => format!("s{s} restart"),
            Event::Shopper {
                which,
                reference,
                approve,
            } => format!("shopper {which:?} {reference} approve={approve}"),
            Event::Cron => "cron".into(),
            Event::NewSession => "new session".into(),
            Event::WalletAlarm { customer } => format!("wallet{customer} alarm"),
            Event::ProviderTick => "provider tick".into(),
        }
    }
}

/// One chain of calls: the intents one request (or alarm, or answer) decided, run one at a time.
#[derive(Debug, Clone)]
struct Chain {
    s: usize,
    pending: VecDeque<Intent>,
    in_flight: Option<String>,
    password: bool,
    /// Calls this chain has sent.
    sent: usize,
}

struct SessionSim {
    /// The committed snapshot: what a restart resumes from.
    record: SessionRecord,
    customer: usize,
    incarnation: u64,
    alarm_generation: u64,
    alarm_at_s: Option<i64>,
    tracked: bool,
    keys: u32,
}

/// The whole simulated world.
pub struct World {
    dice: Dice,
    now_s: i64,
    queue: BinaryHeap<std::cmp::Reverse<(i64, u64)>>,
    events: BTreeMap<u64, Event>,
    seq: u64,
    sessions: Vec<SessionSim>,
    pub(crate) wallets: Vec<Wallet>,
    pub(crate) bkash: Provider,
    pub(crate) wechat: Provider,
    pub(crate) card: Provider,
    /// The machine's `authorization_void_after_s` in this world: minutes, so that authorizations
    /// nobody captures are voided within a run.
    authorization_void_after_s: i64,
    chains: BTreeMap<u64, Chain>,
    next_chain: u64,
    /// Which session a payment or refund id belongs to (the Worker's routing).
    owner_of: BTreeMap<String, usize>,
    /// Balance credits and points given back, by wallet reference (for the quiet checks).
    pub(crate) trace: Trace,
    /// Hold groups whose post or void the session was told of (answered and committed), by
    /// customer: a group resolved again after that is resolved twice.
    acknowledged: BTreeMap<(usize, String), &'static str>,
    /// The sessions this step touched: the per-step checks look at these (the others were
    /// checked when they last changed).
    touched: std::collections::BTreeSet<usize>,
    /// The saga's alerts, by name (which paths a run went down).
    alerts: BTreeMap<String, u64>,
    /// Alarms that changed nothing and were due again at once (a busy loop costs invocations).
    busy_alarms: u64,
    /// Broken invariants seen while acting (the check after the step reports them).
    pub(crate) violations: Vec<String>,
    steps: u64,
    next_id: u64,
}

impl World {
    pub fn new(config: &RunConfig) -> World {
        let mut dice = Dice {
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            faults_on: true,
            counts: FaultCounts::default(),
        };
        let skew = |dice: &mut Dice| {
            if dice.fault(Fault::ClockSkew, 500) {
                dice.range(-360, 360)
            } else {
                0
            }
        };
        let bkash = Provider::new(Which::Bkash, skew(&mut dice));
        let wechat = Provider::new(Which::Wechat, skew(&mut dice));
        let mut card = Provider::new(Which::Card, skew(&mut dice));
        let authorization_void_after_s = dice.range(600, 4 * 3600);
        if dice.fault(Fault::AuthorizationLapsedEarly, 100) {
            card.authorization_life_s = dice.range(300, authorization_void_after_s);
        }
        let mut world = World {
            dice,
            now_s: START_S,
            queue: BinaryHeap::new(),
            events: BTreeMap::new(),
            seq: 0,
            sessions: Vec::new(),
            wallets: Vec::new(),
            bkash,
            wechat,
            card,
            authorization_void_after_s,
            chains: BTreeMap::new(),
            next_chain: 0,
            owner_of: BTreeMap::new(),
            trace: Trace::new(config.keep, config.full_trace),
            acknowledged: BTreeMap::new(),
            violations: Vec::new(),
            busy_alarms: 0,
            alerts: BTreeMap::new(),
            touched: Default::default(),
            steps: 0,
            next_id: 0,
        };
        world.populate();
        world
    }

    fn at(&mut self, at_s: i64, event: Event) {
        self.seq += 1;
        let at_s = at_s.max(self.now_s);
        self.queue.push(std::cmp::Reverse((at_s, self.seq)));
        self.events.insert(self.seq, event);
    }

    /// Runs `config.steps` faulty steps, then the quiet phase, checking after every step.
    pub fn run(mut self, config: &RunConfig) -> Outcome {
        let start = self.now_s;
        let mut failure = None;
        while self.steps < config.steps {
            if let Err(invariant) = self.tick(true) {
                failure = Some(invariant);
                break;
            }
        }
        if failure.is_none() {
            failure = self.quiesce().err();
        }
        let endings = self.endings();
        Outcome {
            seed: config.seed,
            asked_steps: config.steps,
            steps: self.steps,
            hash: self.trace.hash(),
            faults: self.dice.counts.clone(),
            sim_seconds: self.now_s - start,
            failure: failure.map(|invariant| Failure {
                step: self.steps,
                invariant,
                tail: self.trace.tail().cloned().collect(),
            }),
            trace: self.trace.all.take(),
            endings,
        }
    }

    fn endings(&self) -> BTreeMap<String, u64> {
        let mut endings = BTreeMap::new();
        for session in &self.sessions {
            let r = &session.record;
            *endings.entry(format!("{:?}", r.status)).or_insert(0) += 1;
            for p in &r.payments {
                *endings
                    .entry(format!("payment {:?}", p.status))
                    .or_insert(0) += 1;
                if p.late_success.is_some() {
                    *endings.entry("late success".into()).or_insert(0) += 1;
                }
                if p.method == PaymentMethod::Card && p.review.is_some() {
                    *endings.entry("card held for review".into()).or_insert(0) += 1;
                }
                let failed_by_decline =
                    p.failure.as_ref().map(|f| f.code) == Some(ErrorCode::CardDeclined);
                if p.method == PaymentMethod::Card && failed_by_decline {
                    *endings.entry("card failed as declined".into()).or_insert(0) += 1;
                }
            }
            for refund in &r.refunds {
                *endings
                    .entry(format!("refund {:?}", refund.status))
                    .or_insert(0) += 1;
            }
        }
        // The card payments as Stripe ended them.
        for p in self.card.payments.values() {
            let ending = match (p.state, p.manual_capture) {
                (PayState::Paid, false) => "card charged",
                (PayState::Paid, true) if p.taken_minor < p.asked.amount_minor() => {
                    "card captured in part"
                }
                (PayState::Paid, true) => "card captured",
                (PayState::Voided, _) => "card authorization voided",
                (PayState::Authorized, _) => "card authorization open",
                (_, _) if p.declined => "card declined, session expired",
                (_, _) => "card session expired",
            };
            *endings.entry(ending.into()).or_insert(0) += 1;
        }
        for (alert, n) in &self.alerts {
            endings.insert(format!("alert {alert}"), *n);
        }
        if self.busy_alarms > 0 {
            endings.insert("alarms due again at once".into(), self.busy_alarms);
        }
        endings
    }

    /// Faults off; the world runs until nothing is due but the cron, then the final checks.
    fn quiesce(&mut self) -> Result<(), String> {
        self.dice.faults_on = false;
        self.trace.push("-- quiet: faults off --".into());
        let quiet_from = self.now_s;
        let quiet_steps = self.steps;
        loop {
            if self.settled() {
                break;
            }
            if self.now_s - quiet_from > QUIET_LIMIT_S || self.steps - quiet_steps > QUIET_STEPS {
                return Err(format!(
                    "not quiescent after {} s of quiet: {}",
                    QUIET_LIMIT_S,
                    self.unsettled()
                ));
            }
            self.tick(false)?;
        }
        check::quiescent(self)
    }

    /// Whether nothing but the cron (and far wallet alarms) is left to happen.
    fn settled(&self) -> bool {
        let busy_events = self.events.values().any(|e| {
            !matches!(
                e,
                Event::Cron
                    | Event::NewSession
                    | Event::WalletAlarm { .. }
                    | Event::Alarm { .. }
                    | Event::ProviderTick
            )
        });
        let alarms_due = self.sessions.iter().any(|s| s.alarm_at_s.is_some());
        let intents = self.sessions.iter().any(|s| !s.record.intents.is_empty());
        let refunds_open = self.bkash.next_due_s().is_some()
            || self.wechat.next_due_s().is_some()
            || self.card.next_due_s().is_some();
        let holds = self.wallets.iter().any(Wallet::has_pending_holds);
        !busy_events && !alarms_due && !intents && !refunds_open && !holds
    }

    fn unsettled(&self) -> String {
        let mut what = Vec::new();
        for (i, s) in self.sessions.iter().enumerate() {
            if let Some(at) = s.alarm_at_s {
                what.push(format!("s{i} alarm at +{}", at - self.now_s));
            }
            for intent in &s.record.intents {
                what.push(format!("s{i} intent {}", intent.id));
            }
        }
        for e in self.events.values() {
            if !matches!(e, Event::Cron | Event::NewSession | Event::Alarm { .. }) {
                what.push(e.name());
            }
        }
        if self.bkash.next_due_s().is_some()
            || self.wechat.next_due_s().is_some()
            || self.card.next_due_s().is_some()
        {
            what.push("provider refunds processing".into());
        }
        for (i, w) in self.wallets.iter().enumerate() {
            if w.has_pending_holds() {
                what.push(format!("wallet{i} holds pending"));
            }
        }
        what.join(", ")
    }

    /// Processes the next event, then checks every invariant.
    fn tick(&mut self, faulty: bool) -> Result<(), String> {
        let Some(std::cmp::Reverse((at_s, seq))) = self.queue.pop() else {
            return Err("the world ran out of events".into());
        };
        let event = self.events.remove(&seq).expect("a queued event exists");
        self.touched.clear();
        self.now_s = at_s;
        self.steps += 1;
        let line = format!("{} t+{} {}", self.steps, at_s - START_S, event.name());
        self.trace.push(line);
        self.handle(event, faulty);
        check::every_step(self)
    }

    fn handle(&mut self, event: Event, faulty: bool) {
        match event {
            Event::Input { s, input, from } => self.deliver(s, input, from),
            Event::Arrive {
                chain,
                s,
                password,
                intent,
                fate,
            } => self.arrive(chain, s, password, intent, fate),
            Event::Answer {
                chain,
                intent_id,
                answer,
            } => self.answer(chain, intent_id, answer),
            Event::Alarm {
                s,
                generation,
                throws,
            } => self.alarm(s, generation, throws),
            Event::Restart { s } => self.restart(s, true),
            Event::Shopper {
                which,
                reference,
                approve,
            } => self.shopper_at_provider(which, &reference, approve),
            Event::Cron => {
                for s in 0..self.sessions.len() {
                    let session = &self.sessions[s];
                    let r = &session.record;
                    let overdue =
                        matches!(r.status, SessionStatus::Open | SessionStatus::Processing)
                            && self.now_s >= r.expires_at_s;
                    if session.tracked || overdue {
                        self.deliver(s, Input::Reconcile, From::Cron);
                    }
                }
                self.at(self.now_s + CRON_EVERY_S, Event::Cron);
            }
            Event::NewSession => {
                if faulty {
                    self.new_session();
                    let next = self.now_s + self.dice.range(5, 120);
                    self.at(next, Event::NewSession);
                }
            }
            Event::WalletAlarm { customer } => {
                let now_ms = self.now_s * 1000;
                self.wallets[customer].expire_due_holds(now_ms);
                // As the wallet's alarm does: the next expiry is set again.
                if let Some(at_ms) = self.wallets[customer].next_expiry_ms() {
                    self.at(at_ms.div_euclid(1000) + 1, Event::WalletAlarm { customer });
                }
            }
            Event::ProviderTick => {
                self.touched.extend(0..self.sessions.len());
                self.bkash.tick(self.now_s);
                self.wechat.tick(self.now_s);
                self.card.tick(self.now_s);
                self.send_notices();
                let due = [
                    self.bkash.next_due_s(),
                    self.wechat.next_due_s(),
                    self.card.next_due_s(),
                ];
                if let Some(at) = due.into_iter().flatten().min() {
                    self.at(at.max(self.now_s + 1), Event::ProviderTick);
                }
            }
        }
        // A restart of an object this step just worked on: between two of its effects.
        let busy = self.touched.iter().next().copied();
        if let Some(s) = busy.filter(|_| faulty && self.dice.chance(15)) {
            self.at(self.now_s, Event::Restart { s });
        }
    }

    fn ctx(&mut self, s: usize) -> Ctx {
        let record = &self.sessions[s].record;
        let available = record
            .request
            .methods
            .iter()
            .copied()
            .filter(|m| *m != PaymentMethod::Points || record.points_rules.is_some())
            .collect();
        let limits = vec![
            MethodLimits {
                method: PaymentMethod::Bkash,
                min: Money::from_minor(100, Currency::BDT).expect("1.00"),
                max: Money::from_minor(2_500_000, Currency::BDT).expect("25000.00"),
            },
            MethodLimits {
                method: PaymentMethod::WechatPay,
                min: Money::from_minor(1, Currency::CNY).expect("0.01"),
                max: Money::from_minor(10_000_000, Currency::CNY).expect("100000.00"),
            },
            MethodLimits {
                method: PaymentMethod::Card,
                min: Money::from_minor(50, record.amount.currency()).expect("0.50"),
                max: Money::from_minor(99_999_999, record.amount.currency()).expect("999999.99"),
            },
        ];
        let throttled = self.dice.fault(Fault::Throttled, 20);
        Ctx {
            now_s: self.now_s,
            available,
            limits,
            stranger_call_allowed: !throttled,
            authorization_void_after_s: self.authorization_void_after_s,
        }
    }

    /// The object receives `input`: one step of the saga, committed with its intents unless the
    /// object crashes first; then the intents run on a chain.
    fn deliver(&mut self, s: usize, input: Input, from: From) {
        self.touched.insert(s);
        let ctx = self.ctx(s);
        let mut record = self.sessions[s].record.clone();
        let before = record.clone();
        let result = saga::step(&mut record, input.clone(), &ctx);
        if self.dice.fault(Fault::CrashBeforeCommit, 10) {
            self.trace.push(format!("  s{s} crashed before commit"));
            self.failed_delivery(s, input, from);
            self.restart(s, false);
            return;
        }
        let stepped = match result {
            Ok(stepped) => stepped,
            Err(error) => {
                let detail = error.detail();
                self.trace.push(format!("  refused {:?}", detail.code));
                self.failed_delivery(s, input, from);
                return;
            }
        };
        for alert in &stepped.alerts {
            *self.alerts.entry(alert.alert.clone()).or_insert(0) += 1;
            self.trace.push(format!(
                "  alert {} {} {}",
                alert.alert, alert.subject, alert.detail
            ));
        }
        let ids: Vec<&str> = stepped.intents.iter().map(|i| i.id.as_str()).collect();
        self.trace.push(format!(
            "  {:?} -> {:?} intents {ids:?}",
            before.status, record.status
        ));
        self.acknowledge(s, &before, &input);
        let idle = from == From::Alarm && stepped.intents.is_empty() && record == before;
        if idle && saga::next_alarm_at_s(&record, self.now_s).is_some_and(|at| at <= self.now_s) {
            // An alarm that decided nothing and is due again at once.
            self.busy_alarms += 1;
        }
        self.sessions[s].record = record;
        self.sessions[s].tracked = saga::needs_tracking(&self.sessions[s].record);
        self.set_alarm(s);
        self.react(s, &before);
        if stepped.intents.is_empty() {
            if let From::Chain(chain) = from {
                self.pump(chain);
            }
            return;
        }
        let chain = match from {
            From::Chain(chain) if self.chains.contains_key(&chain) => chain,
            _ => {
                let password = from == From::Shopper { password: true };
                self.next_chain += 1;
                let chain = Chain {
                    s,
                    pending: VecDeque::new(),
                    in_flight: None,
                    password,
                    sent: 0,
                };
                self.chains.insert(self.next_chain, chain);
                self.next_chain
            }
        };
        if let Some(c) = self.chains.get_mut(&chain) {
            c.pending.extend(stepped.intents);
        }
        self.pump(chain);
    }

    /// Notes a hold group's post or void the session has just been told of.
    fn acknowledge(&mut self, s: usize, before: &SessionRecord, input: &Input) {
        let Input::Answer {
            intent_id,
            answer: Answer::WalletOk,
        } = input
        else {
            return;
        };
        let Some(intent) = before.intents.iter().find(|i| &i.id == intent_id) else {
            return;
        };
        let (group, how) = match &intent.call {
            Call::Wallet {
                call: WalletCall::PostHolds { group },
            } => (group, "posted"),
            Call::Wallet {
                call: WalletCall::VoidHolds { group },
            } => (group, "voided"),
            _ => return,
        };
        let customer = self.sessions[s].customer;
        self.acknowledged.insert((customer, group.clone()), how);
    }

    /// A delivery that was refused or lost: a provider notifies again on its schedule.
    fn failed_delivery(&mut self, s: usize, input: Input, from: From) {
        match from {
            From::Notifier { attempt } if attempt < NOTIFY_RETRY_S.len() => {
                let next = From::Notifier {
                    attempt: attempt + 1,
                };
                let at = self.now_s + NOTIFY_RETRY_S[attempt];
                self.at(
                    at,
                    Event::Input {
                        s,
                        input,
                        from: next,
                    },
                );
            }
            From::Chain(chain) => {
                // The answer was not applied: the call stays listed for the alarm's recovery.
                self.chains.remove(&chain);
            }
            _ => {}
        }
    }

    /// Sets the session's alarm from its committed record, replacing the one before.
    fn set_alarm(&mut self, s: usize) {
        let now_s = self.now_s;
        let session = &mut self.sessions[s];
        session.alarm_generation += 1;
        session.alarm_at_s = saga::next_alarm_at_s(&session.record, now_s);
        let generation = session.alarm_generation;
        let Some(mut at) = session.alarm_at_s else {
            return;
        };
        if self.dice.fault(Fault::AlarmLate, 30) {
            at += self.dice.range(1, 600);
        }
        self.at(
            at.max(now_s + 1),
            Event::Alarm {
                s,
                generation,
                throws: 0,
            },
        );
        if self.dice.fault(Fault::AlarmTwice, 20) {
            self.at(
                at.max(now_s + 1) + 1,
                Event::Alarm {
                    s,
                    generation,
                    throws: 0,
                },
            );
        }
    }

    fn alarm(&mut self, s: usize, generation: u64, throws: u32) {
        let session = &self.sessions[s];
        // A replaced alarm never fires; a second firing of the same one may (at-least-once).
        if generation != session.alarm_generation && generation + 1 != session.alarm_generation {
            return;
        }
        if generation != session.alarm_generation && !self.dice.faults_on {
            return;
        }
        if throws < 7 && self.dice.fault(Fault::AlarmThrows, 30) {
            // The handler threw before committing: the runtime retries with back-off.
            let again = self.now_s + (1 << throws.min(6));
            self.at(
                again,
                Event::Alarm {
                    s,
                    generation,
                    throws: throws + 1,
                },
            );
            return;
        }
        if generation == self.sessions[s].alarm_generation {
            self.sessions[s].alarm_at_s = None;
        }
        self.deliver(s, Input::Alarm, From::Alarm);
    }

    fn restart(&mut self, s: usize, count: bool) {
        if count {
            self.dice.counts.add(Fault::Restart);
        }
        self.sessions[s].incarnation += 1;
        let dead: Vec<u64> = self
            .chains
            .iter()
            .filter(|(_, c)| c.s == s)
            .map(|(id, _)| *id)
            .collect();
        for chain in dead {
            self.chains.remove(&chain);
        }
        self.trace
            .push(format!("  s{s} restarted from its snapshot"));
        self.deliver(s, Input::Alarm, From::Alarm);
    }

    pub(crate) fn touched_sessions(&self) -> impl Iterator<Item = (&SessionRecord, usize)> {
        self.touched
            .iter()
            .map(|s| (&self.sessions[*s].record, self.sessions[*s].customer))
    }

    pub(crate) fn sessions(&self) -> impl Iterator<Item = (&SessionRecord, usize)> {
        self.sessions.iter().map(|s| (&s.record, s.customer))
    }
}

fn input_name(input: &Input) -> String {
    match input {
        Input::Pay(p) => format!(
            "pay {} {:?} {} {:?}",
            p.idempotency_key,
            p.method,
            p.payment_id,
            p.allocation.as_ref().map(|a| (a.points, a.balance.clone()))
        ),
        Input::Answer { intent_id, answer } => {
            format!("answer {intent_id} {}", answer_name(answer))
        }
        Input::Notification { provider, event } => format!("notification {provider:?} {event:?}"),
        Input::Refund(r) => format!(
            "refund {} {} {}",
            r.idempotency_key, r.refund_id, r.request.amount
        ),
        other => format!("{other:?}"),
    }
}

fn answer_name(answer: &Answer) -> String {
    match answer {
        Answer::WalletRefused(detail) => format!("WalletRefused({:?})", detail.code),
        Answer::Created(c) => format!("Created({})", c.reference),
        Answer::Payment(p) => format!(
            "Payment({:?} {:?} {:?})",
            p.state,
            p.amount.map(|a| a.amount_minor()),
            p.invoice
        ),
        other => format!("{other:?}"),
    }
}
