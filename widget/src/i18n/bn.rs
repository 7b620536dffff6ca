//! Bangla (বাংলা), in Bengali script, as written in Bangladesh.

use checkout_core::ErrorCode;

use super::{Messages, PartMessages};

pub const MESSAGES: Messages = Messages {
    checkout_label: "চেকআউট",
    loading: "আপনার অর্ডার লোড হচ্ছে…",
    processing_payment: "আপনার পেমেন্ট প্রক্রিয়া করা হচ্ছে…",
    payment_complete_status: "পেমেন্ট সম্পন্ন হয়েছে।",
    payment_authorized_status: "পেমেন্ট অনুমোদিত হয়েছে; দোকান নিশ্চিত করবে।",
    waiting_status: "পেমেন্ট নিশ্চিত হওয়ার অপেক্ষা চলছে।",
    processing: "প্রক্রিয়া চলছে…",
    pay_now: "এখনই পরিশোধ করুন",
    continue_bkash: "বিকাশে পরিশোধ করতে এগিয়ে যান",
    continue_card: "কার্ডে পরিশোধ করতে এগিয়ে যান",
    pay_wechat: "WeChat Pay দিয়ে পরিশোধ করুন",
    pay_with: "পরিশোধের মাধ্যম",
    method_balance: "স্টোর ব্যালান্স",
    method_points: "লয়্যালটি পয়েন্ট",
    method_bkash: "বিকাশ",
    method_wechat: "WeChat Pay",
    method_card: "কার্ড",
    card_brands: "Visa, Mastercard, American Express, UnionPay",
    no_pay_password: "এই ওয়ালেটে কোনো পেমেন্ট পাসওয়ার্ড সেট করা নেই।",
    balance_unavailable: "স্টোর ব্যালান্স ব্যবহার করা যাচ্ছে না।",
    not_available_yet: "এখনও চালু হয়নি",
    out_of_range: "এই পরিমাণ পরিশোধ করা যাবে না।",
    limits: "প্রতি পেমেন্টে {} থেকে {}",
    total: "মোট",
    order: "অর্ডার {}",
    pay_by: "{}-এর মধ্যে পরিশোধ করুন",
    use_points: "আমার পয়েন্ট ব্যবহার করুন ({} আছে)",
    use_balance: "আমার স্টোর ব্যালান্স ব্যবহার করুন ({})",
    unreachable: "চেকআউটের সাথে যোগাযোগ করা যায়নি। আপনার ইন্টারনেট সংযোগ দেখে আবার চেষ্টা করুন।",
};

pub const PART_MESSAGES: PartMessages = PartMessages {
    available_balance: "ব্যবহারযোগ্য ব্যালান্স: ",
    pay_password: "পেমেন্ট পাসওয়ার্ড",
    attempts_left: "আর {} বার ভুল হলে ব্যালান্স দিয়ে পেমেন্ট কিছু সময়ের জন্য বন্ধ থাকবে।",
    retry_in_s: "{} সেকেন্ড পরে আবার চেষ্টা করুন।",
    retry_in_min: "{} মিনিট পরে আবার চেষ্টা করুন।",
    ask_shop_to_unlock: "খুলে দিতে দোকানের সঙ্গে যোগাযোগ করুন।",
    paid_heading: "পেমেন্ট সম্পন্ন",
    authorized_heading: "পেমেন্ট অনুমোদিত",
    you_authorized: "আপনার কার্ডে {} অনুমোদিত হয়েছে। দোকান আপনার অর্ডার নিশ্চিত করে টাকা নেবে।",
    you_paid: "আপনি {} পরিশোধ করেছেন।",
    back_to_shop: "দোকানে ফিরে যান",
    points_line: "{} পয়েন্ট: {}",
    balance_line: "স্টোর ব্যালান্স: {}",
    points_to_use: "ব্যবহারের পয়েন্ট",
    points_range: "আপনি {} থেকে {} পয়েন্ট ব্যবহার করতে পারেন।",
    points_more_than_available: "আপনার কাছে মাত্র {} পয়েন্ট আছে।",
    points_not_whole: "পয়েন্টের একটি পূর্ণ সংখ্যা লিখুন।",
    split_impossible: "এভাবে ভাগ করে পরিশোধ করা যাবে না: {}।",
    split_reasons: [
        "পয়েন্টের নিয়মগুলো সঠিক নয়",
        "পয়েন্ট ঋণাত্মক হতে পারে না",
        "বিক্রেতার হারে এই পয়েন্টের মূল্য কোনো সঠিক অঙ্কে মেলে না",
        "প্রতিবার ব্যবহারের সর্বনিম্ন পয়েন্টের চেয়ে কম",
        "প্রতি অর্ডারে অনুমোদিত পয়েন্টের চেয়ে বেশি",
        "পয়েন্ট দিয়ে অর্ডারের অনুমোদিত অংশের চেয়ে বেশি পরিশোধ হয়ে যাবে",
        "পয়েন্ট দিয়ে পুরো অর্ডার পরিশোধ করা যাবে না",
        "বাকি টাকা বিকাশ, WeChat Pay বা কার্ড দিয়ে দিতে হবে",
        "একটি অংশ অন্য মুদ্রায়",
        "অংশগুলোর যোগফল অর্ডারের মোট টাকার সমান নয়",
    ],
    split_shortfall: "আরও {} পরিশোধ করতে হবে",
    enter_password: "আপনার ৬ অঙ্কের পেমেন্ট পাসওয়ার্ড দিন।",
    open_in_wechat: "WeChat Pay দিয়ে পরিশোধ করতে এই পেজটি WeChat-এ খুলুন।",
    confirm_in_wechat: "WeChat-এ {} পেমেন্টটি নিশ্চিত করুন।",
    reopen_wechat: "আবার WeChat Pay খুলুন",
    waiting_provider: "পেমেন্ট সেবাদাতার নিশ্চিতকরণের অপেক্ষা চলছে…",
    updates_itself: "পেমেন্ট নিশ্চিত হলে এই পেজটি নিজে থেকেই হালনাগাদ হবে।",
    cancel_payment: "বাতিল করে অন্যভাবে পরিশোধ করুন",
    qr_unavailable: "এই QR কোডটি দেখানো যাচ্ছে না।",
    qr_label: "WeChat Pay দিয়ে {} পরিশোধের QR কোড",
    scan_to_pay: "{} পরিশোধ করতে WeChat দিয়ে স্ক্যান করুন",
    scan_hint: "WeChat খুলুন, + চাপুন, তারপর Scan বেছে নিয়ে ফোনটি এই কোডের দিকে ধরুন।",
};

/// The message for `code`; `None` for a code added to the core after this table was written.
pub fn error(code: ErrorCode) -> Option<&'static str> {
    use ErrorCode as E;
    // A code the core gains later falls back to English; the unit tests catch the gap.
    #[allow(unreachable_patterns)]
    Some(match code {
        E::MalformedJson => "রিকোয়েস্টের বডি প্রত্যাশিত কাঠামোর বৈধ JSON নয়।",
        E::InvalidParameter => "রিকোয়েস্টের একটি প্যারামিটার সঠিক নয়।",
        E::InvalidHeader => "একটি প্রয়োজনীয় হেডার নেই বা সঠিক নয়।",
        E::UnsupportedMediaType => "রিকোয়েস্টের বডি application/json হিসেবে পাঠান।",
        E::BodyTooLarge => "রিকোয়েস্টের বডি খুব বড়।",
        E::InvalidApiKey => "API কী নেই বা বৈধ নয়।",
        E::InvalidToken => "চেকআউট টোকেনটি বৈধ নয়। নতুন করে শুরু করতে পেজটি রিলোড করুন।",
        E::TokenExpired => {
            "চেকআউট টোকেনের মেয়াদ শেষ হয়ে গেছে। নতুন করে শুরু করতে পেজটি রিলোড করুন।"
        }
        E::TokenScopeMismatch => "এই চেকআউট টোকেনটি এই সেশনের জন্য বৈধ নয়।",
        E::OriginNotAllowed => {
            "এই পেজ থেকে এই চেকআউট খোলার অনুমতি নেই। দোকানকে তাদের ওয়েব ঠিকানা চেকআউটের অনুমোদিত ঠিকানার তালিকায় যোগ করতে হবে।"
        }
        E::RateLimited => "অল্প সময়ে অনেকবার চেষ্টা করা হয়েছে। একটু অপেক্ষা করে আবার চেষ্টা করুন।",
        E::UpgradeRequired => "এই ঠিকানায় শুধু WebSocket সংযোগ নেওয়া হয়।",
        E::TooManyStatusSockets => {
            "এই চেকআউটের জন্য অনেকগুলো সংযোগ খোলা আছে। অন্য ট্যাব বন্ধ করুন বা একটু অপেক্ষা করুন।"
        }
        E::InvalidClientSecret => "চেকআউট লিংকটি বৈধ নয়।",
        E::NotFound => "এই ঠিকানায় কিছু পাওয়া যায়নি।",
        E::MethodNotAllowed => "এখানে এই HTTP মেথড সমর্থিত নয়।",
        E::OrderConflict => "এই অর্ডার আইডি আগেই ভিন্ন তথ্যের সাথে ব্যবহার করা হয়েছে।",
        E::IdempotencyKeyReused => {
            "এই আইডেমপোটেন্সি কী আগেই ভিন্ন একটি রিকোয়েস্টে ব্যবহার করা হয়েছে।"
        }
        E::MethodNotAllowedForSession => "এই অর্ডারে এই পেমেন্ট পদ্ধতি ব্যবহার করা যাবে না।",
        E::PaymentMethodUnavailable => "এই পেমেন্ট পদ্ধতি এখন ব্যবহার করা যাচ্ছে না।",
        E::SessionNotOpen => "এই চেকআউটে আর পেমেন্ট করা যাবে না।",
        E::SessionExpired => {
            "এই চেকআউটের মেয়াদ শেষ হয়ে গেছে। নতুন করে শুরু করতে দোকানে ফিরে যান।"
        }
        E::PaymentInProgress => "এই অর্ডারের একটি পেমেন্ট ইতিমধ্যে প্রক্রিয়াধীন।",
        E::PaymentRequiresReview => "এই অর্ডারের একটি পেমেন্ট দোকান যাচাই করছে। অনুগ্রহ করে দোকানের সাথে যোগাযোগ করুন।",
        E::ReviewActionNotAllowed => "এই পেমেন্টটি যাচাইয়ের অপেক্ষায় নেই, অথবা এই কাজটি এর জন্য অনুমোদিত নয়।",
        E::InsufficientBalance => "এই পরিমাণ পরিশোধের জন্য আপনার ব্যালান্স যথেষ্ট নয়।",
        E::InsufficientPoints => "এই ওয়ালেটে যথেষ্ট পয়েন্ট নেই।",
        E::InvalidAllocation => "এই পেমেন্ট বিভিন্ন পদ্ধতিতে এভাবে ভাগ করার অনুমতি নেই।",
        E::IncorrectPayPassword => "পেমেন্ট পাসওয়ার্ড ভুল।",
        E::PayPasswordLocked => {
            "অনেকবার ভুল পেমেন্ট পাসওয়ার্ড দেওয়া হয়েছে। ব্যালান্স দিয়ে পেমেন্ট বন্ধ করা হয়েছে।"
        }
        E::PayPasswordNotSet => {
            "এই ওয়ালেটে কোনো পেমেন্ট পাসওয়ার্ড সেট করা নেই। দোকানকে একটি সেট করে দিতে বলুন।"
        }
        E::PayPasswordRequired => "আপনার পেমেন্ট পাসওয়ার্ড দিন।",
        E::PayPasswordOutsideFrame => {
            "পেমেন্ট পাসওয়ার্ড শুধু চেকআউটের নিজস্ব পাসওয়ার্ড ঘরেই দেওয়া যায়।"
        }
        E::HoldNotPending => "সংরক্ষিত টাকা ইতিমধ্যে ছেড়ে দেওয়া বা কেটে নেওয়া হয়েছে।",
        E::ReferenceConflict => "এই রেফারেন্স আগেই ভিন্ন একটি ক্রেডিটে ব্যবহার করা হয়েছে।",
        E::AmountOutOfRange => "এই পরিমাণ বেছে নেওয়া পেমেন্ট পদ্ধতির সীমার বাইরে।",
        E::PaymentDeclined => {
            "পেমেন্টটি প্রত্যাখ্যাত হয়েছে। কোনো টাকা কাটা হয়নি; আবার চেষ্টা করুন অথবা অন্য পদ্ধতি বেছে নিন।"
        }
        E::CardDeclined => "আপনার কার্ডটি প্রত্যাখ্যাত হয়েছে। কোনো টাকা কাটা হয়নি; অন্য কার্ড বা অন্য পেমেন্ট পদ্ধতি ব্যবহার করুন।",
        E::CardInsufficientFunds => "এই পেমেন্টের জন্য আপনার কার্ডে যথেষ্ট টাকা নেই। কোনো টাকা কাটা হয়নি।",
        E::CardExpired => "আপনার কার্ডের মেয়াদ শেষ হয়ে গেছে। কোনো টাকা কাটা হয়নি; অন্য একটি কার্ড ব্যবহার করুন।",
        E::CardIncorrectCvc => "কার্ডের নিরাপত্তা কোড (CVC) ভুল। কোনো টাকা কাটা হয়নি; যাচাই করে আবার চেষ্টা করুন।",
        E::CardProcessingError => "আপনার কার্ড প্রসেস করার সময় একটি সমস্যা হয়েছে। কোনো টাকা কাটা হয়নি; একটু পরে আবার চেষ্টা করুন।",
        E::CardAuthenticationFailed => "আপনার ব্যাংক এই পেমেন্টটি নিশ্চিত করতে পারেনি। কোনো টাকা কাটা হয়নি; আবার চেষ্টা করুন অথবা অন্য কার্ড ব্যবহার করুন।",
        E::PaymentCanceled => "পেমেন্টটি বাতিল করা হয়েছে। কোনো টাকা কাটা হয়নি।",
        E::ProviderUnavailable => "পেমেন্ট সেবাদাতা সাড়া দিচ্ছে না। একটু পরে আবার চেষ্টা করুন।",
        E::ProviderError => "পেমেন্ট সেবাদাতা রিকোয়েস্টটি গ্রহণ করেনি। কোনো টাকা কাটা হয়নি।",
        E::UnknownProviderPayment => "এই পেমেন্টটি চেনা যাচ্ছে না।",
        E::NotificationUnverified => "নোটিফিকেশনের স্বাক্ষর যাচাই করা যায়নি।",
        E::NotificationUnreadable => "নোটিফিকেশনটি ডিক্রিপ্ট করা বা পড়া যায়নি।",
        E::NotificationReplayed => "এই নোটিফিকেশনটি আগেই পাওয়া গেছে।",
        E::RefundExceedsPayment => "রিফান্ডের পরিমাণ ফেরতযোগ্য বাকি টাকার চেয়ে বেশি।",
        E::SessionNotPaid => "শুধু পরিশোধিত চেকআউটই রিফান্ড করা যায়।",
        E::InternalError => {
            "আমাদের দিকে একটি সমস্যা হয়েছে। কোনো টাকা লেনদেন হয়নি; আবার চেষ্টা করুন।"
        }
        _ => return None,
    })
}
