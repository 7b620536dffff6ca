//! The network and the other side of every call: the shell's chains of intents, the wallet and
//! the providers acting on them, their answers and notifications, with the faults on the way.

use super::*;

impl World {
    /// Sends the chain's next intent, if none is in flight.
    pub(super) fn pump(&mut self, chain: u64) {
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
    pub(super) fn arrive(
        &mut self,
        chain: u64,
        s: usize,
        password: bool,
        intent: Intent,
        fate: Fate,
    ) {
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

    pub(super) fn answer(&mut self, chain: u64, intent_id: String, answer: Answer) {
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
    pub(super) fn perform(&mut self, s: usize, intent: &Intent, password: bool) -> Answer {
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

    pub(super) fn wallet_call(
        &mut self,
        customer: usize,
        call: &WalletCall,
        password: bool,
    ) -> Answer {
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

    pub(super) fn provider_call(
        &mut self,
        s: usize,
        method: PaymentMethod,
        intent: &str,
        call: &ProviderCall,
    ) -> Answer {
        let which = which_of(method);
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
        let provider = self.provider_mut(which);
        provider.expire_unexecuted(now_s);
        let error = Answer::ProviderError;
        match call {
            ProviderCall::Create(create) => {
                match provider.create_with(
                    &create.invoice,
                    create.amount,
                    create.expires_at_s,
                    mismatch,
                    create.manual_capture,
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
                let provider = self.provider_mut(which);
                // Read before the close, as the connector reads Stripe's session first.
                let decline = provider.payments.get(reference).and_then(|p| p.decline());
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
                    Ok(()) => Answer::Closed { decline },
                    Err(e) => error(e),
                }
            }
            ProviderCall::Capture {
                payment_id,
                transaction_id,
                amount,
            } => match provider.capture(intent, payment_id, transaction_id, *amount) {
                Ok(p) => Answer::Payment(p),
                Err(e) => error(e),
            },
            ProviderCall::Void {
                payment_id,
                transaction_id,
            } => match provider.void(payment_id, transaction_id) {
                Ok(p) => Answer::Payment(p),
                Err(e) => error(e),
            },
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
    pub(super) fn send_notices(&mut self) {
        let mut notices: Vec<(Which, Notice)> = Vec::new();
        notices.extend(self.bkash.outbox.drain(..).map(|n| (Which::Bkash, n)));
        notices.extend(self.wechat.outbox.drain(..).map(|n| (Which::Wechat, n)));
        notices.extend(self.card.outbox.drain(..).map(|n| (Which::Card, n)));
        for (which, notice) in notices {
            let (subject, event) = match notice {
                Notice::Paid(payment) => {
                    let reference = payment.invoice.clone().unwrap_or_default();
                    (reference, NotifiedEvent::Payment { payment })
                }
                Notice::Refund { refund_id } => {
                    (refund_id.clone(), NotifiedEvent::Refund { refund_id })
                }
                // As the shell turns a verified Stripe event into a hint about our payment.
                Notice::Changed { payment_id } => {
                    (payment_id.clone(), NotifiedEvent::Changed { payment_id })
                }
            };
            let Some(&s) = self.owner_of.get(&subject) else {
                continue;
            };
            let provider = match which {
                Which::Bkash => PaymentMethod::Bkash,
                Which::Wechat => PaymentMethod::WechatPay,
                Which::Card => PaymentMethod::Card,
            };
            // A success after an acknowledged close loses its notification half the time: the
            // saga's check of closed legs (`CLOSE_CHECK_AFTER_S`) must find that money alone.
            let after_close = match (&event, which) {
                (NotifiedEvent::Payment { .. }, Which::Wechat) => self
                    .wechat
                    .payment_for(&subject)
                    .is_some_and(|p| p.paying_through_close),
                _ => false,
            };
            let input = Input::Notification { provider, event };
            let dropped = match after_close {
                true => self.dice.fault(Fault::DroppedNotice, 500),
                false => self.dice.fault(Fault::DroppedNotice, 40),
            };
            if dropped {
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
    pub(super) fn shopper_at_provider(&mut self, which: Which, reference: &str, approve: bool) {
        let now_s = self.now_s;
        let provider = self.provider_mut(which);
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
        if which == Which::Card {
            self.card_shopper_next(s, reference, approve, changed, state);
            return;
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

    /// After the shopper acts on Stripe's page: a success sends the browser to `success_url`
    /// (the session reference, a claim the session checks); a decline leaves the page open, and
    /// the shopper tries another card or gives up, sometimes through `cancel_url` (our payment
    /// id).
    fn card_shopper_next(
        &mut self,
        s: usize,
        reference: &str,
        approve: bool,
        changed: bool,
        state: Option<PayState>,
    ) {
        let now_s = self.now_s;
        let from = From::Shopper { password: false };
        let paid = matches!(state, Some(PayState::Paid | PayState::Authorized));
        if approve && changed && paid {
            if self.dice.fault(Fault::DroppedNotice, 80) {
                return;
            }
            let input = Input::Callback {
                provider: PaymentMethod::Card,
                reference: reference.to_owned(),
                outcome: CallbackOutcome::Success,
            };
            let at = now_s + self.dice.range(1, 10);
            self.at(at, Event::Input { s, input, from });
            return;
        }
        if approve || !changed || state != Some(PayState::Initiated) {
            return;
        }
        // Declined: another card (paid or declined again), or gone.
        if self.dice.chance(600) {
            let approve = self.dice.chance(700);
            let at = now_s + self.dice.range(5, 120);
            let event = Event::Shopper {
                which: Which::Card,
                reference: reference.to_owned(),
                approve,
            };
            self.at(at, event);
        } else if self.dice.chance(500) {
            let payment_id = self
                .card
                .payments
                .get(reference)
                .map(|p| p.invoice.clone())
                .unwrap_or_default();
            let input = Input::Callback {
                provider: PaymentMethod::Card,
                reference: payment_id,
                outcome: CallbackOutcome::Cancel,
            };
            let at = now_s + self.dice.range(1, 30);
            self.at(at, Event::Input { s, input, from });
        }
    }

    pub(super) fn provider_mut(&mut self, which: Which) -> &mut Provider {
        match which {
            Which::Bkash => &mut self.bkash,
            Which::Wechat => &mut self.wechat,
            Which::Card => &mut self.card,
        }
    }
}

/// The simulated provider behind a payment method.
pub(super) fn which_of(method: PaymentMethod) -> Which {
    match method {
        PaymentMethod::WechatPay => Which::Wechat,
        PaymentMethod::Card => Which::Card,
        _ => Which::Bkash,
    }
}
