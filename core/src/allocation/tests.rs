use super::*;
use proptest::prelude::*;

const RULES: PointsRules = PointsRules {
    points_per_unit: 10,
    min_points_per_use: 100,
    max_points_per_order: 5_000,
    max_share_percent: 50,
    may_pay_whole_order: false,
};

fn bdt(minor: i64) -> Money {
    Money::from_minor(minor, Currency::BDT).unwrap()
}

const PRIORITY: &[PaymentMethod] = &[PaymentMethod::Points, PaymentMethod::Balance];

#[test]
fn points_are_worth_exact_minor_units() {
    assert_eq!(RULES.value_of(300, Currency::BDT), Ok(bdt(3_000)));
    assert_eq!(RULES.value_of(1, Currency::BDT), Ok(bdt(10)));
    let thirds = PointsRules {
        points_per_unit: 3,
        ..RULES
    };
    assert_eq!(thirds.value_of(3, Currency::BDT), Ok(bdt(100)));
    assert_eq!(
        thirds.value_of(4, Currency::BDT),
        Err(AllocationError::InexactPoints)
    );
    assert_eq!(
        RULES.value_of(-1, Currency::BDT),
        Err(AllocationError::NegativePoints)
    );
}

#[test]
fn the_issue_example_validates_points_300_balance_20_bkash_50() {
    let allocation = Allocation {
        points: 300,
        balance: bdt(2_000),
        external: Some((PaymentMethod::Bkash, bdt(5_000))),
    };
    assert_eq!(validate(bdt(10_000), &allocation, &RULES), Ok(()));
    let short = Allocation {
        balance: bdt(1_999),
        ..allocation
    };
    assert_eq!(
        validate(bdt(10_000), &short, &RULES),
        Err(AllocationError::DoesNotSum)
    );
}

#[test]
fn each_points_rule_is_enforced() {
    let with_points = |points: i64, balance: i64| Allocation {
        points,
        balance: bdt(balance),
        external: None,
    };
    let total = bdt(10_000);
    let cases = [
        (with_points(50, 9_500), AllocationError::BelowMinimumPoints),
        (with_points(5_010, 0), AllocationError::AbovePointsPerOrder),
        (with_points(600, 4_000), AllocationError::AbovePointsShare),
    ];
    for (allocation, error) in cases {
        assert_eq!(
            validate(total, &allocation, &RULES),
            Err(error),
            "{allocation:?}"
        );
    }
    let whole = PointsRules {
        max_share_percent: 100,
        ..RULES
    };
    let all_points = with_points(1_000, 0);
    assert_eq!(
        validate(total, &all_points, &whole),
        Err(AllocationError::PointsPayWholeOrder)
    );
    let allowed = PointsRules {
        may_pay_whole_order: true,
        ..whole
    };
    assert_eq!(validate(total, &all_points, &allowed), Ok(()));
}

#[test]
fn the_external_leg_must_be_external() {
    let allocation = Allocation {
        points: 0,
        balance: bdt(0),
        external: Some((PaymentMethod::Balance, bdt(100))),
    };
    assert_eq!(
        validate(bdt(100), &allocation, &RULES),
        Err(AllocationError::NotExternal)
    );
}

#[test]
fn a_suggestion_uses_points_then_balance_then_the_external_method() {
    let suggested = suggest(
        bdt(10_000),
        10_000,
        bdt(2_000),
        &RULES,
        PRIORITY,
        Some(PaymentMethod::Bkash),
    )
    .unwrap();
    assert_eq!(suggested.points, 500); // capped at 50% of 100.00
    assert_eq!(suggested.balance, bdt(2_000));
    assert_eq!(suggested.external, Some((PaymentMethod::Bkash, bdt(3_000))));
}

#[test]
fn a_suggestion_without_an_external_method_names_the_shortfall() {
    let result = suggest(bdt(10_000), 0, bdt(9_999), &RULES, PRIORITY, None);
    assert_eq!(
        result,
        Err(AllocationError::Shortfall { remaining: bdt(1) })
    );
}

#[test]
fn too_few_points_are_not_used_at_all() {
    let suggested = suggest(bdt(10_000), 99, bdt(10_000), &RULES, PRIORITY, None).unwrap();
    assert_eq!(suggested.points, 0);
    assert_eq!(suggested.balance, bdt(10_000));
}

#[test]
fn points_come_in_steps_worth_whole_minor_units() {
    assert_eq!(RULES.step(Currency::BDT), 1);
    let thirds = PointsRules {
        points_per_unit: 3,
        ..RULES
    };
    assert_eq!(thirds.step(Currency::BDT), 3);
    let thousand = PointsRules {
        points_per_unit: 1_000,
        ..RULES
    };
    assert_eq!(thousand.step(Currency::BDT), 10);
}

fn rules() -> impl Strategy<Value = PointsRules> {
    (
        1_i64..=1_000,
        0_i64..=500,
        0_i64..=100_000,
        0_u32..=100,
        any::<bool>(),
    )
        .prop_map(|(ppu, min, extra, share, whole)| PointsRules {
            points_per_unit: ppu,
            min_points_per_use: min,
            max_points_per_order: min + extra,
            max_share_percent: share,
            may_pay_whole_order: whole,
        })
}

proptest! {
    /// Whatever the rules and funds, a suggestion validates and its legs add up to the total.
    #[test]
    fn suggestions_always_sum_exactly(
        rules in rules(),
        total in 1_i64..10_000_000,
        points in 0_i64..1_000_000,
        balance in 0_i64..10_000_000,
        points_first in any::<bool>(),
    ) {
        let priority: &[PaymentMethod] = if points_first {
            &[PaymentMethod::Points, PaymentMethod::Balance]
        } else {
            &[PaymentMethod::Balance, PaymentMethod::Points]
        };
        let total = bdt(total);
        let suggested = suggest(total, points, bdt(balance), &rules, priority, Some(PaymentMethod::Bkash)).unwrap();
        prop_assert_eq!(validate(total, &suggested, &rules), Ok(()));
        let value = rules.value_of(suggested.points, Currency::BDT).unwrap();
        let external = suggested.external.map_or(0, |(_, m)| m.amount_minor());
        prop_assert_eq!(value.amount_minor() + suggested.balance.amount_minor() + external, total.amount_minor());
        prop_assert!(suggested.points <= points);
        prop_assert!(suggested.balance.amount_minor() <= balance);
    }

    /// Moving one minor unit between legs without changing the total still sums; adding one breaks it.
    #[test]
    fn validation_rejects_any_off_by_one(total in 2_i64..1_000_000, balance_share in 0_i64..100) {
        let total_money = bdt(total);
        let balance = total * balance_share / 100;
        let allocation = Allocation {
            points: 0,
            balance: bdt(balance),
            external: Some((PaymentMethod::Bkash, bdt(total - balance))),
        };
        prop_assert_eq!(validate(total_money, &allocation, &RULES), Ok(()));
        let over = Allocation { balance: bdt(balance + 1), ..allocation };
        prop_assert_eq!(validate(total_money, &over, &RULES), Err(AllocationError::DoesNotSum));
    }
}
