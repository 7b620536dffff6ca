//! What the widget says, in English, Simplified Chinese and Bangla: the shopper's [`Locale`], one
//! [`Messages`] table per language (every UI string and a message for every [`ErrorCode`]), and
//! the shopper-facing text of a [`Problem`]. Pure data and functions, no DOM: it runs natively in
//! unit tests.
//!
//! - `en.rs`, `zh.rs`, `bn.rs`: the tables. English error messages are the core's own defaults.
//! - `format.rs`: amounts, counts and times of day per locale, from integers (never floats).

mod bn;
mod en;
pub mod errors;
pub mod format;
mod zh;

use checkout_core::allocation::AllocationError;
use checkout_core::api::PaymentMethod;
use checkout_core::ErrorCode;

use crate::state::{Problem, Unavailable};

/// A language the widget speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Locale {
    En,
    /// Simplified Chinese, for mainland shoppers.
    ZhHans,
    /// Bangla, in Bengali script with Bengali digits.
    Bn,
}

impl Locale {
    #[cfg(test)]
    pub const ALL: [Locale; 3] = [Locale::En, Locale::ZhHans, Locale::Bn];

    /// The locale a BCP 47 tag asks for (`en-GB`, `zh`, `zh-CN`, `bn-BD`), if the widget speaks
    /// it. Any Chinese tag gets Simplified Chinese, the only Chinese the widget has.
    pub fn from_tag(tag: &str) -> Option<Locale> {
        let language = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match language.as_str() {
            "en" => Some(Locale::En),
            "zh" => Some(Locale::ZhHans),
            "bn" => Some(Locale::Bn),
            _ => None,
        }
    }

    /// The locale to use: the merchant's `locale` option when it names a language the widget
    /// speaks, otherwise (no option, `"auto"`, or a language it does not speak) the first of the
    /// browser's languages (`navigator.languages`, in the shopper's order) that it speaks,
    /// otherwise English.
    pub fn resolve(option: Option<&str>, browser: &[String]) -> Locale {
        option
            .and_then(Locale::from_tag)
            .or_else(|| browser.iter().find_map(|tag| Locale::from_tag(tag)))
            .unwrap_or(Locale::En)
    }

    /// The BCP 47 tag for `lang` attributes (screen readers pick their voice from it).
    pub const fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::ZhHans => "zh-Hans",
            Locale::Bn => "bn",
        }
    }

    pub fn messages(self) -> &'static Messages {
        match self {
            Locale::En => &en::MESSAGES,
            Locale::ZhHans => &zh::MESSAGES,
            Locale::Bn => &bn::MESSAGES,
        }
    }

    /// The strings of the lazily loaded parts. Call it from a part's code only, or they all come
    /// back into the first view.
    pub fn part_messages(self) -> &'static PartMessages {
        match self {
            Locale::En => &en::PART_MESSAGES,
            Locale::ZhHans => &zh::PART_MESSAGES,
            Locale::Bn => &bn::PART_MESSAGES,
        }
    }

    /// What the shopper reads about `problem`, in their language.
    pub fn problem_text(self, problem: &Problem) -> String {
        self.tell(problem, false)
    }

    /// [`Locale::problem_text`] and, after a wrong pay password, the attempts left: what the
    /// status region announces.
    pub fn problem_status(self, problem: &Problem) -> String {
        self.tell(problem, true)
    }

    /// The words for a problem are in the error messages' part ([`errors`]). While it is on its
    /// way the text is empty, and the asking view renders again when it lands; if it cannot be
    /// had, the network is down, and that is what the shopper reads. Natively, in unit tests,
    /// there are no parts.
    fn tell(self, problem: &Problem, with_attempts: bool) -> String {
        let unreachable = self.messages().unreachable;
        if let Problem::Unreachable = problem {
            return unreachable.to_owned();
        }
        #[cfg(not(target_family = "wasm"))]
        return self.describe_problem(problem, with_attempts);
        #[cfg(target_family = "wasm")]
        match errors::describe(self, problem, with_attempts) {
            errors::Words::Ready(text) => text,
            errors::Words::Loading => String::new(),
            errors::Words::Unavailable => unreachable.to_owned(),
        }
    }

    /// The text of `problem`: the localized message for its code (the server's own message only
    /// for a code this build does not know), and when to try again; with `with_attempts`, the
    /// attempts left too. The error messages' part hands this out.
    pub fn describe_problem(self, problem: &Problem, with_attempts: bool) -> String {
        let t = self.part_messages();
        let text = match problem {
            Problem::Api(detail) => {
                let message = translate(self, detail.code);
                match detail.retry_after_s {
                    Some(s) => format!("{message} {}", self.retry_after(s)),
                    // A lock with no time to wait out is the hard lock only the shop lifts.
                    None if detail.code == ErrorCode::PayPasswordLocked => {
                        format!("{message} {}", self.part_messages().ask_shop_to_unlock)
                    }
                    None => message.to_owned(),
                }
            }
            Problem::Unknown { message, .. } => message.clone(),
            Problem::Unreachable => self.messages().unreachable.to_owned(),
            Problem::Split(error) => fill(t.split_impossible, &[&self.split_reason(error)]),
            Problem::PasswordFormat => t.enter_password.to_owned(),
            Problem::NotInWechat => t.open_in_wechat.to_owned(),
            Problem::NotEnoughPoints { available } => fill(
                t.points_more_than_available,
                &[&format::count(available.unsigned_abs(), self)],
            ),
            Problem::PointsNotWhole => t.points_not_whole.to_owned(),
        };
        match problem.attempts_left().filter(|_| with_attempts) {
            Some(left) => format!("{text} {}", self.attempts_left(left)),
            None => text,
        }
    }

    /// Why a split was refused, in a few words.
    pub fn split_reason(self, error: &AllocationError) -> String {
        let t = self.part_messages();
        let index = match error {
            AllocationError::InvalidRules => 0,
            AllocationError::NegativePoints => 1,
            AllocationError::InexactPoints => 2,
            AllocationError::BelowMinimumPoints => 3,
            AllocationError::AbovePointsPerOrder => 4,
            AllocationError::AbovePointsShare => 5,
            AllocationError::PointsPayWholeOrder => 6,
            AllocationError::NotExternal => 7,
            AllocationError::CurrencyMismatch => 8,
            AllocationError::DoesNotSum => 9,
            AllocationError::Shortfall { remaining } => {
                return fill(t.split_shortfall, &[&format::money(*remaining, self)]);
            }
        };
        t.split_reasons[index].to_owned()
    }

    /// "Try again in 40 seconds." / "Try again in 15 minutes." (whole minutes, rounded up).
    pub fn retry_after(self, seconds: u64) -> String {
        let t = self.part_messages();
        if seconds < 60 {
            fill(t.retry_in_s, &[&format::count(seconds, self)])
        } else {
            fill(
                t.retry_in_min,
                &[&format::count(seconds.div_ceil(60), self)],
            )
        }
    }

    /// "4 attempts left before …".
    pub fn attempts_left(self, left: u32) -> String {
        fill(
            self.part_messages().attempts_left,
            &[&format::count(u64::from(left), self)],
        )
    }
}

/// The message for `code` in `locale`; English (the core's default) where a translation is
/// missing, which the unit tests forbid for every code this build knows.
pub fn translate(locale: Locale, code: ErrorCode) -> &'static str {
    let translated = match locale {
        Locale::En => None,
        Locale::ZhHans => zh::error(code),
        Locale::Bn => bn::error(code),
    };
    translated.unwrap_or(code.default_message())
}

/// The strings of the first view, in one language. `{}` marks where a value goes ([`fill`]).
pub struct Messages {
    /// The region's accessible name.
    pub checkout_label: &'static str,
    pub loading: &'static str,
    pub processing_payment: &'static str,
    pub payment_complete_status: &'static str,
    /// A card authorized for the shop to capture later: a success for the shopper.
    pub payment_authorized_status: &'static str,
    pub waiting_status: &'static str,
    pub processing: &'static str,
    pub pay_now: &'static str,
    pub continue_bkash: &'static str,
    /// The Pay button with a card chosen: the card is typed on the gateway's page.
    pub continue_card: &'static str,
    pub pay_wechat: &'static str,
    /// The methods' legend.
    pub pay_with: &'static str,
    pub method_balance: &'static str,
    pub method_points: &'static str,
    pub method_bkash: &'static str,
    pub method_wechat: &'static str,
    pub method_card: &'static str,
    /// The card brands' names, for screen readers (their marks are decorative).
    pub card_brands: &'static str,
    pub no_pay_password: &'static str,
    pub balance_unavailable: &'static str,
    pub not_available_yet: &'static str,
    /// The method cannot take this order's amount.
    pub out_of_range: &'static str,
    /// `{}` to `{}` per payment: a method's limits.
    pub limits: &'static str,
    pub total: &'static str,
    /// `{}`: the merchant's order id.
    pub order: &'static str,
    /// `{}`: a time of day.
    pub pay_by: &'static str,
    /// `{}`: points available.
    pub use_points: &'static str,
    /// `{}`: the balance.
    pub use_balance: &'static str,
    pub unreachable: &'static str,
}

/// The strings only the lazily loaded parts show (the later screens, and the text of a
/// [`Problem`], which the error messages' part composes): [`Locale::part_messages`] is called from
/// those parts alone, so these strings travel with them and not in the first view.
pub struct PartMessages {
    pub available_balance: &'static str,
    pub pay_password: &'static str,
    /// `{}`: attempts left.
    pub attempts_left: &'static str,
    /// `{}`: seconds.
    pub retry_in_s: &'static str,
    /// `{}`: minutes.
    pub retry_in_min: &'static str,
    /// After a hard lock (no time to wait out): only the shop can lift it.
    pub ask_shop_to_unlock: &'static str,
    pub paid_heading: &'static str,
    pub authorized_heading: &'static str,
    /// `{}`: the amount authorized.
    pub you_authorized: &'static str,
    /// `{}`: the amount.
    pub you_paid: &'static str,
    pub back_to_shop: &'static str,
    /// `{}` points, `{}` their value.
    pub points_line: &'static str,
    /// `{}`: the amount from store balance.
    pub balance_line: &'static str,
    /// The points field's label.
    pub points_to_use: &'static str,
    /// `{}` to `{}`: the points the field accepts.
    pub points_range: &'static str,
    /// `{}`: the points the shopper has.
    pub points_more_than_available: &'static str,
    pub points_not_whole: &'static str,
    /// `{}`: the reason, from `split_reasons` or `split_shortfall`.
    pub split_impossible: &'static str,
    /// One per [`AllocationError`] variant without data, in declaration order.
    pub split_reasons: [&'static str; 10],
    /// `{}`: what is left to pay.
    pub split_shortfall: &'static str,
    pub enter_password: &'static str,
    pub open_in_wechat: &'static str,
    /// `{}`: the amount.
    pub confirm_in_wechat: &'static str,
    pub reopen_wechat: &'static str,
    pub waiting_provider: &'static str,
    pub updates_itself: &'static str,
    pub cancel_payment: &'static str,
    pub qr_unavailable: &'static str,
    /// `{}`: the amount.
    pub qr_label: &'static str,
    /// `{}`: the amount.
    pub scan_to_pay: &'static str,
    pub scan_hint: &'static str,
}

impl Messages {
    /// A payment method's name.
    pub fn method(&self, method: PaymentMethod) -> &'static str {
        match method {
            PaymentMethod::Balance => self.method_balance,
            PaymentMethod::Points => self.method_points,
            PaymentMethod::Bkash => self.method_bkash,
            PaymentMethod::WechatPay => self.method_wechat,
            PaymentMethod::Card => self.method_card,
        }
    }

    /// Why a method cannot pay this order.
    pub fn unavailable(&self, reason: Unavailable) -> &'static str {
        match reason {
            Unavailable::NoPayPassword => self.no_pay_password,
            Unavailable::NoBalance => self.balance_unavailable,
            Unavailable::NotYet => self.not_available_yet,
            Unavailable::OutOfRange => self.out_of_range,
        }
    }
}

/// `template` with each `{}` replaced by the next of `values`, in order.
pub fn fill(template: &str, values: &[&str]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut values = values.iter();
    let mut rest = template;
    while let Some(at) = rest.find("{}") {
        out.push_str(&rest[..at]);
        out.push_str(values.next().copied().unwrap_or_default());
        rest = &rest[at + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use checkout_core::error::ErrorDetail;
    use std::collections::HashSet;

    fn langs(tags: &[&str]) -> Vec<String> {
        tags.iter().map(|t| (*t).to_owned()).collect()
    }

    #[test]
    fn the_merchants_locale_wins_over_the_browsers() {
        let browser = langs(&["bn-BD", "en"]);
        assert_eq!(Locale::resolve(Some("zh-CN"), &browser), Locale::ZhHans);
        assert_eq!(Locale::resolve(Some("zh"), &browser), Locale::ZhHans);
        assert_eq!(Locale::resolve(Some("en"), &browser), Locale::En);
        assert_eq!(Locale::resolve(Some("bn"), &langs(&["en-US"])), Locale::Bn);
        assert_eq!(Locale::resolve(Some("BN_bd"), &[]), Locale::Bn);
    }

    #[test]
    fn auto_or_an_unknown_option_follows_the_first_browser_language_the_widget_speaks() {
        let browser = langs(&["fr-FR", "zh-CN", "en"]);
        assert_eq!(Locale::resolve(Some("auto"), &browser), Locale::ZhHans);
        assert_eq!(Locale::resolve(None, &browser), Locale::ZhHans);
        assert_eq!(Locale::resolve(Some("de"), &browser), Locale::ZhHans);
        assert_eq!(Locale::resolve(Some(""), &langs(&["bn"])), Locale::Bn);
        assert_eq!(Locale::resolve(None, &langs(&["zh-TW"])), Locale::ZhHans);
    }

    #[test]
    fn english_is_the_last_resort() {
        assert_eq!(Locale::resolve(None, &[]), Locale::En);
        assert_eq!(
            Locale::resolve(Some("auto"), &langs(&["fr", "de"])),
            Locale::En
        );
    }

    #[test]
    fn every_error_code_has_a_real_translation_in_chinese_and_bangla() {
        for code in ErrorCode::ALL {
            let english = translate(Locale::En, *code);
            assert_eq!(english, code.default_message());
            for locale in [Locale::ZhHans, Locale::Bn] {
                let own = match locale {
                    Locale::ZhHans => zh::error(*code),
                    _ => bn::error(*code),
                };
                let text = own.unwrap_or_else(|| panic!("{locale:?} has no message for {code:?}"));
                assert!(!text.trim().is_empty(), "{locale:?} {code:?}");
                assert_ne!(text, english, "{locale:?} {code:?} is untranslated");
            }
            let zh_text = zh::error(*code).unwrap_or_default();
            assert!(
                zh_text
                    .chars()
                    .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{code:?}: {zh_text}"
            );
            let bn_text = bn::error(*code).unwrap_or_default();
            assert!(
                bn_text
                    .chars()
                    .any(|c| ('\u{0980}'..='\u{09ff}').contains(&c)),
                "{code:?}: {bn_text}"
            );
        }
    }

    #[test]
    fn messages_within_a_language_do_not_repeat_across_codes_that_mean_different_things() {
        for locale in Locale::ALL {
            let mut seen = HashSet::new();
            for code in ErrorCode::ALL {
                assert!(
                    seen.insert(translate(locale, *code)),
                    "{locale:?}: {code:?} repeats another code's message"
                );
            }
        }
    }

    /// Every UI string of the two translations is present, differs from English where English
    /// words would show, and keeps exactly the `{}` slots of the English template.
    #[test]
    fn every_ui_string_is_translated_with_the_same_slots() {
        let english = ui_strings(Locale::En);
        // Brand names stay as they are in every language.
        let brands = [
            "bKash",
            "WeChat Pay",
            "Visa, Mastercard, American Express, UnionPay",
        ];
        for locale in [Locale::ZhHans, Locale::Bn] {
            let own = ui_strings(locale);
            assert_eq!(own.len(), english.len());
            for ((name, en), (_, text)) in english.iter().zip(&own) {
                assert!(!text.trim().is_empty(), "{locale:?}.{name}");
                assert_eq!(
                    text.matches("{}").count(),
                    en.matches("{}").count(),
                    "{locale:?}.{name}: {text}"
                );
                if !brands.contains(en) {
                    assert_ne!(text, en, "{locale:?}.{name} is untranslated");
                }
            }
        }
    }

    fn ui_strings(locale: Locale) -> Vec<(&'static str, &'static str)> {
        let (t, p) = (locale.messages(), locale.part_messages());
        let mut all = vec![
            ("checkout_label", t.checkout_label),
            ("loading", t.loading),
            ("processing_payment", t.processing_payment),
            ("payment_complete_status", t.payment_complete_status),
            ("payment_authorized_status", t.payment_authorized_status),
            ("waiting_status", t.waiting_status),
            ("processing", t.processing),
            ("pay_now", t.pay_now),
            ("continue_bkash", t.continue_bkash),
            ("continue_card", t.continue_card),
            ("pay_wechat", t.pay_wechat),
            ("pay_with", t.pay_with),
            ("method_balance", t.method_balance),
            ("method_points", t.method_points),
            ("method_bkash", t.method_bkash),
            ("method_wechat", t.method_wechat),
            ("method_card", t.method_card),
            ("card_brands", t.card_brands),
            ("no_pay_password", t.no_pay_password),
            ("balance_unavailable", t.balance_unavailable),
            ("not_available_yet", t.not_available_yet),
            ("out_of_range", t.out_of_range),
            ("limits", t.limits),
            ("available_balance", p.available_balance),
            ("pay_password", p.pay_password),
            ("attempts_left", p.attempts_left),
            ("retry_in_s", p.retry_in_s),
            ("retry_in_min", p.retry_in_min),
            ("ask_shop_to_unlock", p.ask_shop_to_unlock),
            ("total", t.total),
            ("order", t.order),
            ("pay_by", t.pay_by),
            ("paid_heading", p.paid_heading),
            ("authorized_heading", p.authorized_heading),
            ("you_authorized", p.you_authorized),
            ("you_paid", p.you_paid),
            ("back_to_shop", p.back_to_shop),
            ("use_points", t.use_points),
            ("use_balance", t.use_balance),
            ("points_line", p.points_line),
            ("balance_line", p.balance_line),
            ("points_to_use", p.points_to_use),
            ("points_range", p.points_range),
            ("points_more_than_available", p.points_more_than_available),
            ("points_not_whole", p.points_not_whole),
            ("split_impossible", p.split_impossible),
            ("split_shortfall", p.split_shortfall),
            ("enter_password", p.enter_password),
            ("open_in_wechat", p.open_in_wechat),
            ("unreachable", t.unreachable),
            ("confirm_in_wechat", p.confirm_in_wechat),
            ("reopen_wechat", p.reopen_wechat),
            ("waiting_provider", p.waiting_provider),
            ("updates_itself", p.updates_itself),
            ("cancel_payment", p.cancel_payment),
            ("qr_unavailable", p.qr_unavailable),
            ("qr_label", p.qr_label),
            ("scan_to_pay", p.scan_to_pay),
            ("scan_hint", p.scan_hint),
        ];
        all.extend(p.split_reasons.iter().map(|r| ("split_reasons", *r)));
        all
    }

    #[test]
    fn a_known_code_is_shown_in_the_shoppers_language_not_the_servers() {
        let mut detail = ErrorDetail::new(ErrorCode::IncorrectPayPassword);
        detail.message = "The pay password is incorrect.".into();
        let problem = Problem::Api(detail);
        assert_eq!(Locale::ZhHans.problem_text(&problem), "支付密码错误。");
        assert_eq!(Locale::Bn.problem_text(&problem), "পেমেন্ট পাসওয়ার্ড ভুল।");
        assert_eq!(
            Locale::En.problem_text(&problem),
            "The pay password is incorrect."
        );
    }

    #[test]
    fn an_unknown_code_keeps_the_servers_message() {
        let problem = Problem::Unknown {
            code: "brand_new_code".into(),
            message: "Something new happened.".into(),
        };
        for locale in Locale::ALL {
            assert_eq!(locale.problem_text(&problem), "Something new happened.");
        }
    }

    #[test]
    fn a_hard_lock_tells_the_shopper_to_ask_the_shop_and_names_no_time() {
        let detail = ErrorDetail::new(ErrorCode::PayPasswordLocked);
        for locale in Locale::ALL {
            let text = locale.problem_text(&Problem::Api(detail.clone()));
            assert!(
                text.ends_with(locale.part_messages().ask_shop_to_unlock),
                "{text}"
            );
            assert!(!text.contains("15"), "{text}");
        }
    }

    #[test]
    fn waiting_times_and_attempts_are_told_in_the_shoppers_digits() {
        let mut detail = ErrorDetail::new(ErrorCode::PayPasswordLocked);
        detail.retry_after_s = Some(899);
        let text = Locale::Bn.problem_text(&Problem::Api(detail));
        assert!(text.ends_with("১৫ মিনিট পরে আবার চেষ্টা করুন।"), "{text}");
        assert_eq!(Locale::En.retry_after(40), "Try again in 40 seconds.");
        assert_eq!(Locale::ZhHans.retry_after(61), "请 2 分钟后再试。");
        assert_eq!(
            Locale::Bn.attempts_left(4),
            "আর ৪ বার ভুল হলে ব্যালান্স দিয়ে পেমেন্ট কিছু সময়ের জন্য বন্ধ থাকবে।"
        );
        assert!(Locale::ZhHans.attempts_left(4).contains("4 次"));
    }

    #[test]
    fn a_refused_split_says_which_rule_in_the_shoppers_language() {
        let remaining =
            checkout_core::Money::from_minor(12_345, checkout_core::Currency::BDT).unwrap();
        let shortfall = AllocationError::Shortfall { remaining };
        assert_eq!(
            Locale::Bn.split_reason(&shortfall),
            "আরও ৳১২৩.৪৫ পরিশোধ করতে হবে"
        );
        assert_eq!(
            Locale::En.problem_text(&Problem::Split(AllocationError::AbovePointsShare)),
            "This split is not possible: points would pay more than the allowed share of the order."
        );
    }

    #[test]
    fn fill_puts_values_in_order_and_leaves_missing_ones_empty() {
        assert_eq!(
            fill("{} points: {}", &["20", "BDT 2.00"]),
            "20 points: BDT 2.00"
        );
        assert_eq!(fill("no slots", &["x"]), "no slots");
        assert_eq!(fill("a {} b {}", &["1"]), "a 1 b ");
    }
}
