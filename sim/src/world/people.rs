//! The people around the sessions: customers and their wallets, shoppers who open checkouts,
//! pay, retry, cancel and act at the provider's page, and the merchant who refunds and resolves
//! reviews; the faults they bring (bursts of one key, races, late shoppers).

use super::*;

impl World {
    /// Customers with balance and points; sessions arrive while faults are on.
    pub(super) fn populate(&mut self) {
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

    pub(super) fn new_session(&mut self) {
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
        if self.dice.chance(150) {
            // The merchant tops the customer up (the merchant API, straight to the wallet).
            let currency = self.sessions[s].record.amount.currency();
            let minor = self.dice.range(1_000, 200_000);
            let amount = Money::from_minor(minor, currency).expect("a small amount");
            let reference = self.fresh_id("top-up");
            let topped = self.wallets[customer].credit(&reference, amount);
            self.trace
                .push(format!("  wallet{customer} topped up {minor}: {topped:?}"));
        }
    }

    pub(super) fn new_record(&mut self, s: usize, customer: usize, now_s: i64) -> SessionRecord {
        // A third of the sessions take cards (Stripe), in either currency, half of them
        // authorize-only for the merchant's capture.
        let card = self.dice.chance(333);
        let wechat = self.dice.chance(500);
        let (currency, external) = match (card, wechat) {
            (true, true) => (Currency::CNY, PaymentMethod::Card),
            (true, false) => (Currency::BDT, PaymentMethod::Card),
            (false, true) => (Currency::CNY, PaymentMethod::WechatPay),
            (false, false) => (Currency::BDT, PaymentMethod::Bkash),
        };
        let capture = (card && self.dice.chance(500)).then_some(CaptureMode::Manual);
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
            capture,
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

    pub(super) fn fresh_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}_{:08}", self.next_id)
    }

    /// Plans the shopper's first visit to session `s`.
    pub(super) fn plan_shopper(&mut self, s: usize, from_s: i64) {
        let at = from_s + self.dice.range(1, 60);
        self.plan_pay(s, at, None);
    }

    /// A pay request at `at_s`, with faults: the same key many times, the same key with another
    /// split, a cancel racing it, a refund racing its settlement.
    pub(super) fn plan_pay(&mut self, s: usize, at_s: i64, not_method: Option<PaymentMethod>) {
        let record = &self.sessions[s].record;
        let mut methods: Vec<PaymentMethod> = record
            .request
            .methods
            .iter()
            .copied()
            .filter(|m| Some(*m) != not_method)
            .collect();
        let record_methods = record.request.methods.clone();
        if methods.is_empty() {
            methods = record_methods.clone();
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
        let others: Vec<PaymentMethod> = record_methods
            .iter()
            .copied()
            .filter(|m| *m != method)
            .collect();
        if !others.is_empty() && self.dice.fault(Fault::SameKeyOtherMethod, 30) {
            let id = self.fresh_id("pay");
            self.owner_of.insert(id.clone(), s);
            let mut pay = input(id, None);
            if let Input::Pay(p) = &mut pay {
                p.method = *self.dice.pick(&others);
            }
            let when = at_s + self.dice.range(0, 5);
            let from = from.clone();
            self.at(
                when,
                Event::Input {
                    s,
                    input: pay,
                    from,
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
    pub(super) fn allocation(
        &mut self,
        s: usize,
        method: PaymentMethod,
    ) -> Option<AllocationRequest> {
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
    pub(super) fn plan_refund(&mut self, s: usize, at_s: i64) {
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
    pub(super) fn react(&mut self, s: usize, before: &SessionRecord) {
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
                self.plan_at_provider(network::which_of(p.method), reference);
            }
            let authorized =
                |r: &SessionRecord| r.payments.iter().any(|b| b.id == p.id && b.is_authorized());
            if authorized(&record) && !authorized(before) {
                self.plan_merchant_on_authorization(s, p);
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
    pub(super) fn plan_at_provider(&mut self, which: Which, reference: String) {
        let early = self.dice.fault(Fault::EarlyNotice, 50);
        let late = !early && self.dice.fault(Fault::LateShopper, 40);
        let delay = if early {
            0
        } else if late {
            // Around the session's end, where the provider's clock (skewed) may still let them.
            let provider = match which {
                Which::Bkash => &self.bkash,
                Which::Wechat => &self.wechat,
                Which::Card => &self.card,
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

    /// The merchant, seeing an authorization: captures it whole or in part (sometimes twice
    /// over, racing), voids it, or leaves it for the session to void when its window ends.
    fn plan_merchant_on_authorization(&mut self, s: usize, p: &PaymentRecord) {
        let authorized = p.provider_amount();
        let at = self.now_s + self.dice.range(5, 1800);
        let roll = self.dice.range(0, 99);
        let input = match roll {
            0..=39 => Input::Capture { amount: None },
            40..=59 => {
                let minor = self.dice.range(1, authorized.amount_minor().max(1));
                let amount = Money::from_minor(minor, authorized.currency()).ok();
                Input::Capture { amount }
            }
            60..=79 => Input::VoidAuthorization,
            _ => return,
        };
        if self.dice.fault(Fault::SameKeyBurst, 100) {
            let again = match self.dice.chance(500) {
                true => Input::VoidAuthorization,
                false => Input::Capture { amount: None },
            };
            let when = at + self.dice.range(0, 5);
            self.at(
                when,
                Event::Input {
                    s,
                    input: again,
                    from: From::Merchant,
                },
            );
        }
        self.at(
            at,
            Event::Input {
                s,
                input,
                from: From::Merchant,
            },
        );
    }
}
