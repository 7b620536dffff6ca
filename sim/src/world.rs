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
    AllocationRequest, CreateRefundRequest, CreateSessionRequest, PaymentMethod, PaymentStatus,
    PointsAdjustmentKind, RefundStatus, ResolveAction, SessionStatus,
};
use checkout_core::error::ErrorDetail;
use checkout_core::{Currency, ErrorCode, Money};
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
            chains: BTreeMap::new(),
            next_chain: 0,
            owner_of: BTreeMap::new(),
            trace: Trace::new(config.keep, config.full_trace),
            acknowledged: BTreeMap::new(),
            violations: Vec::new(),
            touched: Default::default(),
            steps: 0,
            next_id: 0,
        };
        world.populate();
        world
    }

    /// Customers with balance and points; sessions arrive while faults are on.
    fn populate(&mut self) {
        let customers = self.dice.range(1, 3) as usize;
        for c in 0..customers {
            let mut w = Wallet::default();
            for currency in [Currency::BDT, Currency::CNY] {
                let minor = self.dice.range(0, 400_000);
                if minor > 0 {
                    let amount = Money::from_minor(minor, currency).expect("a small amount");
                    w.credit(&format!("seed-{c}-{}", currency.code()), amount)
                        .expect("a first credit");
                }
            }
            let points = self.dice.range(0, 5_000);
            if points > 0 {
                w.adjust_points(&format!("seed-{c}"), points, PointsAdjustmentKind::Credit)
                    .expect("a first points credit");
            }
            self.wallets.push(w);
        }
        self.at(self.now_s, Event::NewSession);
        self.at(self.now_s + CRON_EVERY_S, Event::Cron);
    }

    fn new_session(&mut self) {
        let s = self.sessions.len();
        let customer = self.dice.range(0, self.wallets.len() as i64 - 1) as usize;
        let record = self.new_record(s, customer, self.now_s);
        self.sessions.push(SessionSim {
            record,
            customer,
            incarnation: 0,
            alarm_generation: 0,
            alarm_at_s: None,
            tracked: false,
            keys: 0,
        });
        self.set_alarm(s);
        self.plan_shopper(s, self.now_s);
        self.trace.push(format!(
            "  s{s} opened: {}",
            self.sessions[s].record.amount.to_decimal_string()
        ));
    }

    fn new_record(&mut self, s: usize, customer: usize, now_s: i64) -> SessionRecord {
        let wechat = self.dice.chance(500);
        let (currency, external) = match wechat {
            true => (Currency::CNY, PaymentMethod::WechatPay),
            false => (Currency::BDT, PaymentMethod::Bkash),
        };
        let amount_minor = self.dice.range(100, 300_000);
        let amount = Money::from_minor(amount_minor, currency).expect("a small amount");
        let points_rules = self.dice.chance(500).then_some(PointsRules {
            points_per_unit: 10,
            min_points_per_use: 10,
            max_points_per_order: 100_000,
            max_share_percent: 50,
            may_pay_whole_order: false,
        });
        let mut methods = vec![PaymentMethod::Balance, external];
        if points_rules.is_some() {
            methods.push(PaymentMethod::Points);
        }
        let ttl_s = self.dice.range(120, 1800);
        let request = CreateSessionRequest {
            order_id: format!("order-{s}"),
            amount: amount.to_decimal_string(),
            currency,
            description: "Simulated order".into(),
            customer_id: format!("cus_{customer}"),
            methods,
            return_url: "https://shop.example/done".into(),
            expires_in_s: Some(ttl_s),
            wechat_openid: None,
        };
        SessionRecord {
            id: format!("cs_{s}"),
            merchant_scope: "test:m_sim".into(),
            merchant_name: "Sim shop".into(),
            livemode: false,
            amount,
            request,
            client_secret: format!("cs_{s}_secret"),
            status: SessionStatus::Open,
            created_at_s: now_s,
            expires_at_s: now_s + ttl_s,
            payments: Vec::new(),
            refunds: Vec::new(),
            points_rules,
            retained_holds: None,
            wallet_priority: checkout_core::api::default_wallet_priority(),
            intents: Vec::new(),
            intent_seq: Default::default(),
        }
    }

    fn fresh_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}_{:08}", self.next_id)
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
            }
            for refund in &r.refunds {
                *endings
                    .entry(format!("refund {:?}", refund.status))
                    .or_insert(0) += 1;
            }
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
        let refunds_open = self.bkash.next_due_s().is_some() || self.wechat.next_due_s().is_some();
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
        if self.bkash.next_due_s().is_some() || self.wechat.next_due_s().is_some() {
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
                self.send_notices();
                let due = [self.bkash.next_due_s(), self.wechat.next_due_s()];
                if let Some(at) = due.into_iter().flatten().min() {
                    self.at(at.max(self.now_s + 1), Event::ProviderTick);
                }
            }
        }
        if faulty && self.dice.chance(8) {
            let s = self.dice.range(0, self.sessions.len() as i64 - 1) as usize;
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
        ];
        let throttled = self.dice.fault(Fault::Throttled, 20);
        Ctx {
            now_s: self.now_s,
            available,
            limits,
            stranger_call_allowed: !throttled,
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

    /// Sends the chain's next intent, if none is in flight.
    fn pump(&mut self, chain: u64) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        if c.in_flight.is_some() {
            return;
        }
        // As the shell does: an intent answered or recovered meanwhile is skipped, and a request
        // runs at most MAX_STEPS_PER_REQUEST calls (the alarm carries on from the list).
        let listed = &self.sessions[c.s].record.intents;
        while c
            .pending
            .front()
            .is_some_and(|i| !listed.iter().any(|l| l.id == i.id))
        {
            c.pending.pop_front();
        }
        let next = c.pending.pop_front();
        c.sent += 1;
        let Some(intent) = next.filter(|_| c.sent <= MAX_STEPS_PER_REQUEST) else {
            self.chains.remove(&chain);
            return;
        };
        c.in_flight = Some(intent.id.clone());
        let provider = matches!(intent.call, Call::Provider { .. });
        let fate = if self.dice.fault(Fault::LostBefore, 25) {
            Fate::LostBefore
        } else if self.dice.fault(Fault::LostAfter, 25) {
            Fate::LostAfter
        } else if provider && self.dice.fault(Fault::ProviderUnavailable, 30) {
            Fate::Unavailable
        } else if self.dice.fault(Fault::Stall30s, 15) {
            Fate::Stall
        } else {
            Fate::Normal
        };
        let intent_id = intent.id.clone();
        if fate == Fate::LostBefore {
            let answer = Answer::Lost;
            self.at(
                self.now_s + CALL_TIMEOUT_S,
                Event::Answer {
                    chain,
                    intent_id,
                    answer,
                },
            );
            return;
        }
        let (s, password) = (c.s, c.password);
        let latency = self.dice.range(0, 2);
        let arrive = Event::Arrive {
            chain,
            s,
            password,
            intent,
            fate,
        };
        self.at(self.now_s + latency, arrive);
    }

    /// The call reaches its target, which acts (unless unavailable); the answer goes back.
    fn arrive(&mut self, chain: u64, s: usize, password: bool, intent: Intent, fate: Fate) {
        let answer = if fate == Fate::Unavailable {
            Answer::ProviderError(saga::ConnectorError::Unknown("503".into()))
        } else {
            // Even when the object restarted after sending, the call reaches its target.
            self.perform(s, &intent, password)
        };
        let (delay, answer) = match fate {
            Fate::LostAfter => (CALL_TIMEOUT_S, Answer::Lost),
            Fate::Stall => (30, answer),
            _ => (self.dice.range(0, 1), answer),
        };
        let intent_id = intent.id;
        self.at(
            self.now_s + delay,
            Event::Answer {
                chain,
                intent_id,
                answer,
            },
        );
    }

    fn answer(&mut self, chain: u64, intent_id: String, answer: Answer) {
        let Some(c) = self.chains.get_mut(&chain) else {
            self.trace.push("  (the chain died with its object)".into());
            return;
        };
        if c.in_flight.as_deref() != Some(intent_id.as_str()) {
            return;
        }
        c.in_flight = None;
        let s = c.s;
        let input = Input::Answer { intent_id, answer };
        self.deliver(s, input, From::Chain(chain));
    }

    /// Runs a call against the wallet or the provider of session `s`.
    fn perform(&mut self, s: usize, intent: &Intent, password: bool) -> Answer {
        self.touched.insert(s);
        match &intent.call {
            Call::Wallet { call } => {
                let customer = self.sessions[s].customer;
                self.wallet_call(customer, call, password)
            }
            Call::Provider { method, call } => {
                let answer = self.provider_call(s, *method, &intent.id, call);
                self.send_notices();
                answer
            }
        }
    }

    fn wallet_call(&mut self, customer: usize, call: &WalletCall, password: bool) -> Answer {
        if let WalletCall::PostHolds { group } | WalletCall::VoidHolds { group } = call {
            if let Some(how) = self.acknowledged.get(&(customer, group.clone())) {
                let again = match call {
                    WalletCall::PostHolds { .. } => "posted",
                    _ => "voided",
                };
                self.violations.push(format!(
                    "hold group {group} {again} again after the session was told it was {how}"
                ));
            }
        }
        let now_ms = self.now_s * 1000;
        let w = &mut self.wallets[customer];
        let done = |r: Result<(), wallet::Refusal>| match r {
            Ok(()) => Answer::WalletOk,
            Err(wallet::Refusal(ErrorCode::InternalError)) => {
                Answer::WalletRefused(saga::aborted())
            }
            Err(wallet::Refusal(code)) => Answer::WalletRefused(ErrorDetail::new(code)),
        };
        let needs_password =
            || Answer::WalletRefused(ErrorDetail::new(ErrorCode::PayPasswordRequired));
        match call {
            WalletCall::Debit {
                transfer_id,
                amount,
                points,
            } => match password {
                true => done(w.debit(transfer_id, *amount, *points)),
                false => needs_password(),
            },
            WalletCall::ResolveTransfer { transfer_id } => {
                Answer::Transfer(match w.resolve(transfer_id) {
                    wallet::TransferOutcome::Posted => saga::TransferOutcome::Posted,
                    wallet::TransferOutcome::Aborted => saga::TransferOutcome::Aborted,
                })
            }
            WalletCall::PlaceHolds {
                group,
                amount,
                points,
                expires_at_ms,
            } => match password {
                true => {
                    let placed = w.place_holds(group, *amount, *points, *expires_at_ms);
                    if let Some(at_ms) = w.next_expiry_ms() {
                        let at = at_ms.div_euclid(1000) + 1;
                        self.at(at, Event::WalletAlarm { customer });
                    }
                    done(placed)
                }
                false => needs_password(),
            },
            WalletCall::PostHolds { group } => done(w.post_holds(group, now_ms)),
            WalletCall::VoidHolds { group } => done(w.void_holds(group, now_ms)),
            WalletCall::Credit { reference, amount } => done(w.credit(reference, *amount)),
            WalletCall::AdjustPoints {
                reference,
                points,
                kind,
            } => done(w.adjust_points(reference, *points, *kind)),
        }
    }

    fn provider_call(
        &mut self,
        s: usize,
        method: PaymentMethod,
        intent: &str,
        call: &ProviderCall,
    ) -> Answer {
        let which = match method {
            PaymentMethod::WechatPay => Which::Wechat,
            _ => Which::Bkash,
        };
        let mismatch = match call {
            ProviderCall::Create(_) if self.dice.fault(Fault::ProviderMismatch, 40) => {
                let other_order = which == Which::Bkash && self.dice.chance(300);
                Some(Mismatch {
                    delta_minor: if other_order { 0 } else { -1 },
                    invoice: other_order.then(|| "pay_someone_else".to_owned()),
                })
            }
            _ => None,
        };
        let now_s = self.now_s;
        let provider = match which {
            Which::Bkash => &mut self.bkash,
            Which::Wechat => &mut self.wechat,
        };
        provider.expire_unexecuted(now_s);
        let error = Answer::ProviderError;
        match call {
            ProviderCall::Create(create) => {
                match provider.create(
                    &create.invoice,
                    create.amount,
                    create.expires_at_s,
                    mismatch,
                ) {
                    Ok(created) => {
                        let reference = created.reference.clone();
                        self.owner_of.insert(reference.clone(), s);
                        Answer::Created(created)
                    }
                    Err(e) => error(e),
                }
            }
            ProviderCall::Complete { reference } => match provider.complete(intent, reference) {
                Ok(p) => Answer::Payment(p),
                Err(e) => error(e),
            },
            ProviderCall::Query { reference } => match provider.query(reference) {
                Ok(p) => Answer::Payment(p),
                Err(e) => error(e),
            },
            ProviderCall::Close { reference } => {
                let leaky = which == Which::Wechat && self.dice.fault(Fault::PaidAfterClose, 60);
                let provider = match which {
                    Which::Bkash => &mut self.bkash,
                    Which::Wechat => &mut self.wechat,
                };
                let closed = match leaky {
                    true => provider.leaky_close(reference),
                    false => provider.cancel(reference),
                };
                if leaky && closed.is_ok() {
                    let at = now_s + self.dice.range(1, 30);
                    let reference = reference.clone();
                    self.at(
                        at,
                        Event::Shopper {
                            which,
                            reference,
                            approve: true,
                        },
                    );
                }
                match closed {
                    Ok(()) => Answer::Closed,
                    Err(e) => error(e),
                }
            }
            ProviderCall::Refund(r) => {
                match provider.refund(intent, &r.reference, &r.refund_id, r.amount, now_s) {
                    Ok(refund) => {
                        if let Some(at) = provider.next_due_s() {
                            self.at(at, Event::ProviderTick);
                        }
                        Answer::Refund(refund)
                    }
                    Err(e) => error(e),
                }
            }
            ProviderCall::FindRefund(r) => match provider.find_refund(&r.reference, &r.refund_id) {
                Ok(Some(found)) if which == Which::Bkash => {
                    // The connector's own rule decides whether bKash's latest refund is ours.
                    let request = checkout_edge::connectors::RefundRequest {
                        reference: &r.reference,
                        transaction_id: &r.transaction_id,
                        refund_id: &r.refund_id,
                        amount: r.amount,
                        reason: &r.reason,
                        payment_amount: r.payment_amount,
                        notify_url: r.notify_url.clone(),
                        others: r.others.clone(),
                    };
                    Answer::FoundRefund(checkout_edge::connectors::bkash::claim_latest_refund(
                        found, &request,
                    ))
                }
                Ok(found) => Answer::FoundRefund(found),
                Err(e) => error(e),
            },
        }
    }

    /// Hands the providers' notifications to the sessions, with their faults.
    fn send_notices(&mut self) {
        let mut notices: Vec<(Which, Notice)> = Vec::new();
        notices.extend(self.bkash.outbox.drain(..).map(|n| (Which::Bkash, n)));
        notices.extend(self.wechat.outbox.drain(..).map(|n| (Which::Wechat, n)));
        for (which, notice) in notices {
            let (subject, event) = match notice {
                Notice::Paid(payment) => {
                    let reference = payment.invoice.clone().unwrap_or_default();
                    (reference, NotifiedEvent::Payment { payment })
                }
                Notice::Refund { refund_id } => {
                    (refund_id.clone(), NotifiedEvent::Refund { refund_id })
                }
            };
            let Some(&s) = self.owner_of.get(&subject) else {
                continue;
            };
            let provider = match which {
                Which::Bkash => PaymentMethod::Bkash,
                Which::Wechat => PaymentMethod::WechatPay,
            };
            // Not injected: every notification of a success after an acknowledged close lost.
            // The saga never asks again after a close, so only the reconciliation report could
            // find that money (docs/benchmarks.md, "What the simulation found").
            let after_close = match (&event, which) {
                (NotifiedEvent::Payment { .. }, Which::Wechat) => self
                    .wechat
                    .payment_for(&subject)
                    .is_some_and(|p| p.paying_through_close),
                _ => false,
            };
            let input = Input::Notification { provider, event };
            if !after_close && self.dice.fault(Fault::DroppedNotice, 40) {
                continue;
            }
            let mut delay = self.dice.range(0, 3);
            if self.dice.fault(Fault::OutOfOrderNotice, 60) {
                delay += self.dice.range(5, 120);
            }
            if self.dice.fault(Fault::LateNotice, 30) {
                delay += self.dice.range(3600, 6 * 3600);
            }
            let from = From::Notifier { attempt: 0 };
            if self.dice.fault(Fault::DuplicateNotice, 80) {
                let again = self.now_s + delay + self.dice.range(0, 60);
                self.at(
                    again,
                    Event::Input {
                        s,
                        input: input.clone(),
                        from: from.clone(),
                    },
                );
            }
            self.at(self.now_s + delay, Event::Input { s, input, from });
        }
    }

    /// The shopper acts at the provider's page.
    fn shopper_at_provider(&mut self, which: Which, reference: &str, approve: bool) {
        let now_s = self.now_s;
        let provider = match which {
            Which::Bkash => &mut self.bkash,
            Which::Wechat => &mut self.wechat,
        };
        provider.expire_unexecuted(now_s);
        let changed = match approve {
            true => provider.shopper_approves(reference, now_s),
            false => provider.shopper_fails(reference),
        };
        let state = provider.payments.get(reference).map(|p| p.state);
        if let Some(&s) = self.owner_of.get(reference) {
            self.touched.insert(s);
        }
        self.send_notices();
        let Some(&s) = self.owner_of.get(reference) else {
            return;
        };
        if which == Which::Bkash && changed {
            // bKash sends the browser back with a claim the session must check.
            let outcome = match state {
                Some(PayState::Authorized) => CallbackOutcome::Success,
                Some(PayState::Closed) => CallbackOutcome::Failure,
                _ => *self
                    .dice
                    .pick(&[CallbackOutcome::Failure, CallbackOutcome::Cancel]),
            };
            if self.dice.fault(Fault::DroppedNotice, 80) {
                return;
            }
            let input = Input::Callback {
                provider: PaymentMethod::Bkash,
                reference: reference.to_owned(),
                outcome,
            };
            let delay = self.dice.range(1, 10);
            if self.dice.fault(Fault::DuplicateNotice, 60) {
                let from = From::Shopper { password: false };
                self.at(
                    now_s + delay + 1,
                    Event::Input {
                        s,
                        input: input.clone(),
                        from,
                    },
                );
            }
            let from = From::Shopper { password: false };
            self.at(now_s + delay, Event::Input { s, input, from });
        }
        if which == Which::Wechat && changed && self.dice.chance(500) {
            let from = From::Shopper { password: false };
            let at = now_s + self.dice.range(1, 10);
            self.at(
                at,
                Event::Input {
                    s,
                    input: Input::StatusPoll,
                    from,
                },
            );
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

    /// Plans the shopper's first visit to session `s`.
    fn plan_shopper(&mut self, s: usize, from_s: i64) {
        let at = from_s + self.dice.range(1, 60);
        self.plan_pay(s, at, None);
    }

    /// A pay request at `at_s`, with faults: the same key many times, the same key with another
    /// split, a cancel racing it, a refund racing its settlement.
    fn plan_pay(&mut self, s: usize, at_s: i64, not_method: Option<PaymentMethod>) {
        let record = &self.sessions[s].record;
        let mut methods: Vec<PaymentMethod> = record
            .request
            .methods
            .iter()
            .copied()
            .filter(|m| Some(*m) != not_method)
            .collect();
        if methods.is_empty() {
            methods = record.request.methods.clone();
        }
        let method = *self.dice.pick(&methods);
        let allocation = self.allocation(s, method);
        self.sessions[s].keys += 1;
        let key = format!("key-{s}-{:04}", self.sessions[s].keys);
        let payment_id = self.fresh_id("pay");
        self.owner_of.insert(payment_id.clone(), s);
        let input = |payment_id: String, allocation: Option<AllocationRequest>| {
            Input::Pay(PayInput {
                idempotency_key: key.clone(),
                method,
                payment_id,
                allocation,
                callback_url: "https://checkout.example/callback".into(),
                notify_url: "https://checkout.example/notify".into(),
                wechat_flow: None,
                client_ip: None,
            })
        };
        let from = From::Shopper { password: true };
        self.at(
            at_s,
            Event::Input {
                s,
                input: input(payment_id, allocation.clone()),
                from: from.clone(),
            },
        );
        if self.dice.fault(Fault::SameKeyBurst, 60) {
            let n = self.dice.range(2, 100);
            for _ in 0..n {
                let id = self.fresh_id("pay");
                self.owner_of.insert(id.clone(), s);
                let when = at_s + self.dice.range(0, 3);
                self.at(
                    when,
                    Event::Input {
                        s,
                        input: input(id, allocation.clone()),
                        from: from.clone(),
                    },
                );
            }
        }
        if self.dice.fault(Fault::SameKeyOtherAmount, 40) {
            let id = self.fresh_id("pay");
            self.owner_of.insert(id.clone(), s);
            let other = Some(AllocationRequest {
                points: 0,
                balance: "0.01".into(),
            });
            let when = at_s + self.dice.range(0, 5);
            self.at(
                when,
                Event::Input {
                    s,
                    input: input(id, other),
                    from: from.clone(),
                },
            );
        }
        if self.dice.fault(Fault::CancelRacingPay, 60) {
            let when = at_s + self.dice.range(0, 20);
            let from = From::Shopper { password: false };
            self.at(
                when,
                Event::Input {
                    s,
                    input: Input::Cancel,
                    from,
                },
            );
        }
        if self.dice.fault(Fault::RefundRacingSettlement, 60) {
            let when = at_s + self.dice.range(0, 40);
            self.plan_refund(s, when);
        }
    }

    /// A split for `method`: sometimes points (and balance) beside it.
    fn allocation(&mut self, s: usize, method: PaymentMethod) -> Option<AllocationRequest> {
        let record = &self.sessions[s].record;
        let rules = record.points_rules?;
        if !self.dice.chance(400) {
            return None;
        }
        let total = record.amount.amount_minor();
        // 10 points = 1.00 = 100 minor: points in steps of 1 minor unit's worth (points/10*100).
        let max_points = (total / 2) / 10;
        if max_points < rules.min_points_per_use {
            return None;
        }
        let points = self.dice.range(rules.min_points_per_use, max_points);
        let points_minor = points * 10;
        let rest = total - points_minor;
        let balance_minor = match method {
            PaymentMethod::Balance => rest,
            PaymentMethod::Points => return None,
            _ => self.dice.range(0, rest / 2),
        };
        let currency = record.amount.currency();
        let balance = Money::from_minor(balance_minor, currency).ok()?;
        Some(AllocationRequest {
            points,
            balance: balance.to_decimal_string(),
        })
    }

    /// A merchant refund at `at_s` of part of what was paid.
    fn plan_refund(&mut self, s: usize, at_s: i64) {
        let record = &self.sessions[s].record;
        let total = record.amount.amount_minor();
        let minor = if self.dice.chance(500) {
            total
        } else {
            self.dice.range(1, total.max(1))
        };
        let amount = Money::from_minor(minor, record.amount.currency()).expect("a small amount");
        let key = format!("refund-key-{s}-{}", self.dice.range(0, 3));
        let refund_id = self.fresh_id("re");
        self.owner_of.insert(refund_id.clone(), s);
        let input = Input::Refund(RefundInput {
            idempotency_key: key,
            refund_id,
            request: CreateRefundRequest {
                amount: amount.to_decimal_string(),
                reason: "simulated".into(),
            },
            notify_url: Some("https://checkout.example/notify".into()),
        });
        self.at(
            at_s,
            Event::Input {
                s,
                input,
                from: From::Merchant,
            },
        );
    }

    /// What the shopper or merchant does next, seeing the record change.
    fn react(&mut self, s: usize, before: &SessionRecord) {
        let record = self.sessions[s].record.clone();
        for p in &record.payments {
            let reference = p.provider.as_ref().and_then(|l| l.reference.clone());
            let had = before
                .payments
                .iter()
                .find(|b| b.id == p.id)
                .and_then(|b| b.provider.as_ref())
                .is_some_and(|l| l.reference.is_some());
            if let (Some(reference), false) = (reference, had) {
                // The shopper sees the provider's page (or QR code) once the session has it.
                let which = match p.method {
                    PaymentMethod::WechatPay => Which::Wechat,
                    _ => Which::Bkash,
                };
                self.plan_at_provider(which, reference);
            }
            let was = before
                .payments
                .iter()
                .find(|b| b.id == p.id)
                .map(|b| b.status);
            if was == Some(p.status) {
                continue;
            }
            match p.status {
                PaymentStatus::Failed
                    if record.status == SessionStatus::Open && self.dice.chance(700) =>
                {
                    // The shopper tries again, half the time with another method.
                    let other = self.dice.fault(Fault::RetryOtherMethod, 500);
                    let at = self.now_s + self.dice.range(1, 120);
                    self.plan_pay(s, at, other.then_some(p.method));
                }
                PaymentStatus::Succeeded if self.dice.faults_on => {
                    let refunds = self.dice.range(0, 2);
                    for _ in 0..refunds {
                        let at = self.now_s + self.dice.range(1, 600);
                        self.plan_refund(s, at);
                    }
                }
                PaymentStatus::RequiresReview if self.dice.chance(600) => {
                    let action = *self
                        .dice
                        .pick(&[ResolveAction::Accept, ResolveAction::RefundAtProvider]);
                    let input = Input::ResolvePayment {
                        payment_id: p.id.clone(),
                        action,
                    };
                    let at = self.now_s + self.dice.range(60, 3600);
                    self.at(
                        at,
                        Event::Input {
                            s,
                            input,
                            from: From::Merchant,
                        },
                    );
                }
                _ => {}
            }
        }
        let _ = RefundStatus::Pending;
    }

    /// The shopper at the provider's page for a payment just created there.
    fn plan_at_provider(&mut self, which: Which, reference: String) {
        let early = self.dice.fault(Fault::EarlyNotice, 50);
        let late = !early && self.dice.fault(Fault::LateShopper, 40);
        let delay = if early {
            0
        } else if late {
            // Around the session's end, where the provider's clock (skewed) may still let them.
            let provider = match which {
                Which::Bkash => &self.bkash,
                Which::Wechat => &self.wechat,
            };
            let ends_in = provider
                .payments
                .get(&reference)
                .map_or(0, |p| p.expires_at_s - self.now_s);
            (ends_in + self.dice.range(-30, 900)).max(0)
        } else {
            self.dice.range(2, 200)
        };
        let approve = self.dice.chance(750);
        if which == Which::Bkash && self.dice.fault(Fault::ForgedCallback, 30) {
            if let Some(&s) = self.owner_of.get(&reference) {
                let input = Input::Callback {
                    provider: PaymentMethod::Bkash,
                    reference: reference.clone(),
                    outcome: CallbackOutcome::Success,
                };
                let from = From::Shopper { password: false };
                self.at(self.now_s + 1, Event::Input { s, input, from });
            }
        }
        if self.dice.chance(900) {
            self.at(
                self.now_s + delay,
                Event::Shopper {
                    which,
                    reference,
                    approve,
                },
            );
        }
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
