use super::*;
use proptest::prelude::*;

fn funded(amount: i64) -> Account {
    let mut account = Account::default();
    account.credit(amount).unwrap();
    account
}

#[test]
fn a_debit_beyond_the_available_balance_is_refused_and_changes_nothing() {
    let mut account = funded(100);
    assert_eq!(account.debit(101), Err(LedgerError::InsufficientFunds));
    assert_eq!(account, funded(100));
    account.debit(100).unwrap();
    assert_eq!(account.available(), 0);
}

#[test]
fn zero_and_negative_amounts_are_refused() {
    let mut account = funded(100);
    for amount in [0, -1, i64::MIN] {
        assert_eq!(account.credit(amount), Err(LedgerError::NonPositiveAmount));
        assert_eq!(account.debit(amount), Err(LedgerError::NonPositiveAmount));
        assert_eq!(
            account.hold(amount, 10),
            Err(LedgerError::NonPositiveAmount)
        );
    }
}

#[test]
fn a_hold_reserves_funds_until_it_resolves() {
    let mut account = funded(100);
    let mut hold = account.hold(60, 1_000).unwrap();
    assert_eq!(account.available(), 40);
    assert_eq!(account.hold(41, 1_000), Err(LedgerError::InsufficientFunds));
    account.void(&mut hold).unwrap();
    assert_eq!(account.available(), 100);
    assert_eq!(hold.state, HoldState::Voided);
}

#[test]
fn a_partial_post_returns_the_rest() {
    let mut account = funded(100);
    let mut hold = account.hold(60, 1_000).unwrap();
    account.post(&mut hold, 45, 999).unwrap();
    assert_eq!(account.available(), 55);
    assert_eq!(account.debits_posted, 45);
    assert_eq!(account.debits_pending, 0);
}

#[test]
fn a_hold_resolves_at_most_once() {
    let mut account = funded(100);
    let mut hold = account.hold(60, 1_000).unwrap();
    account.post(&mut hold, 60, 10).unwrap();
    let after_post = account;
    assert_eq!(account.void(&mut hold), Err(LedgerError::HoldNotPending));
    assert_eq!(
        account.post(&mut hold, 60, 10),
        Err(LedgerError::HoldNotPending)
    );
    assert_eq!(
        account.expire(&mut hold, 2_000),
        Err(LedgerError::HoldNotPending)
    );
    assert_eq!(account, after_post);
}

#[test]
fn an_expired_hold_cannot_be_posted_only_expired() {
    let mut account = funded(100);
    let mut hold = account.hold(60, 1_000).unwrap();
    assert_eq!(
        account.expire(&mut hold, 999),
        Err(LedgerError::HoldNotPending)
    );
    assert_eq!(
        account.post(&mut hold, 60, 1_000),
        Err(LedgerError::HoldExpired)
    );
    account.expire(&mut hold, 1_000).unwrap();
    assert_eq!(hold.state, HoldState::Expired);
    assert_eq!(account.available(), 100);
}

#[test]
fn a_post_cannot_exceed_its_hold() {
    let mut account = funded(100);
    let mut hold = account.hold(60, 1_000).unwrap();
    assert_eq!(
        account.post(&mut hold, 61, 0),
        Err(LedgerError::PostExceedsHold)
    );
    assert_eq!(hold.state, HoldState::Pending);
}

#[derive(Debug, Clone)]
enum Op {
    Credit(i64),
    Debit(i64),
    Hold(i64),
    Post(usize, i64),
    Void(usize),
    Expire(usize),
    /// A refund is a new credit entry, never an edit of the debit it returns.
    Refund(i64),
    Tick(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1_i64..10_000).prop_map(Op::Credit),
        (1_i64..10_000).prop_map(Op::Debit),
        (1_i64..10_000).prop_map(Op::Hold),
        (0_usize..16, 1_i64..10_000).prop_map(|(i, a)| Op::Post(i, a)),
        (0_usize..16).prop_map(Op::Void),
        (0_usize..16).prop_map(Op::Expire),
        (1_i64..500).prop_map(Op::Tick),
        (1_i64..10_000).prop_map(Op::Refund),
    ]
}

proptest! {
    /// Random sequences of credit, debit, hold, post, void and expire conserve every unit, never
    /// go negative, and resolve each hold at most once.
    #[test]
    fn ledger_conserves_funds_and_resolves_each_hold_once(ops in prop::collection::vec(op(), 1..200)) {
        let mut account = Account::default();
        let mut holds: Vec<Hold> = Vec::new();
        let mut resolutions = Vec::new();
        let (mut credited, mut debited, mut refunded) = (0_i64, 0_i64, 0_i64);
        let mut now_ms = 0_i64;
        for op in ops {
            let before = account;
            let result = match op {
                Op::Credit(a) => account.credit(a).map(|()| credited += a),
                Op::Debit(a) => account.debit(a).map(|()| debited += a),
                Op::Hold(a) => account.hold(a, now_ms + 1_000).map(|h| holds.push(h)),
                Op::Post(i, a) => match holds.get_mut(i) {
                    Some(h) => account.post(h, a, now_ms).map(|()| { debited += a; resolutions.push(i) }),
                    None => Ok(()),
                },
                Op::Void(i) => match holds.get_mut(i) {
                    Some(h) => account.void(h).map(|()| resolutions.push(i)),
                    None => Ok(()),
                },
                Op::Expire(i) => match holds.get_mut(i) {
                    Some(h) => account.expire(h, now_ms).map(|()| resolutions.push(i)),
                    None => Ok(()),
                },
                Op::Refund(a) => {
                    // Only what was taken can come back.
                    if a <= debited - refunded {
                        account.credit(a).map(|()| { credited += a; refunded += a })
                    } else {
                        Ok(())
                    }
                }
                Op::Tick(ms) => { now_ms += ms; Ok(()) }
            };
            if result.is_err() {
                prop_assert_eq!(account, before, "a refused operation changed the account");
            }
            prop_assert!(account.available() >= 0);
            prop_assert!(account.debits_pending >= 0);
            let pending: i64 = holds.iter().filter(|h| h.state == HoldState::Pending).map(|h| h.amount).sum();
            prop_assert_eq!(account.debits_pending, pending);
            prop_assert_eq!(account.credits_posted, credited);
            prop_assert_eq!(account.debits_posted, debited);
            prop_assert_eq!(credited, debited + pending + account.available());
        }
        let mut unique = resolutions.clone();
        unique.sort_unstable();
        unique.dedup();
        prop_assert_eq!(unique.len(), resolutions.len(), "a hold resolved twice");
    }
}
