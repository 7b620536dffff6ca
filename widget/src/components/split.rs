//! The split editor: add loyalty points (as many as the shopper types, within the merchant's
//! rules) and, with an external method, store balance, and see exactly how the total divides.
//! The numbers come from the shared allocation rules.

use checkout_core::allocation::Allocation;
use checkout_core::api::{PaymentMethod, WidgetSession};
use leptos::prelude::*;

use super::parts::part_view;
use crate::i18n::{fill, format, Locale};
use crate::state::{plan, points_bounds, split, Problem, Session};

#[component]
pub fn SplitEditor(
    /// The session being paid.
    session: Session,
    /// The method chosen in the list.
    chosen: RwSignal<Option<PaymentMethod>>,
    /// Whether points pay part of the total.
    use_points: RwSignal<bool>,
    /// Whether store balance pays part (with an external method).
    use_balance: RwSignal<bool>,
    /// The points the shopper typed; `None` while they keep the suggested figure.
    points_entry: RwSignal<Option<String>>,
    /// Set while the rules refuse the points typed, so Pay can wait for a valid figure.
    points_refused: RwSignal<bool>,
    /// The shopper's language.
    locale: Locale,
) -> impl IntoView {
    let t = locale.messages();
    let points_label = session.points.map(|p| {
        let available = format::count(p.available.unsigned_abs(), locale);
        fill(t.use_points, &[&available])
    });
    let balance_label = session.balance.as_ref().map(|b| {
        let available = format::amount(b.available_minor, b.currency, locale);
        fill(t.use_balance, &[&available])
    });
    // Memos, not closures: a part or a toggle is built again only when it appears, not on every
    // change of what it depends on (bKash to WeChat Pay keeps the balance toggle as it is).
    let external_chosen = Memo::new(move |_| {
        chosen
            .get()
            .is_some_and(|m| !matches!(m, PaymentMethod::Balance | PaymentMethod::Points))
    });
    let splitting = Memo::new(move |_| use_points.get() || use_balance.get());
    // The field and the breakdown are a lazily loaded part: shown only once the shopper opts in.
    let split = SplitInput {
        session,
        chosen,
        use_points,
        use_balance,
        points_entry,
    };
    let field_input = split.clone();
    view! {
        <div class="ck-split-editor">
            {points_label.map(|label| view! {
                <label class="ck-toggle">
                    <input type="checkbox" data-testid="use-points"
                        prop:checked=move || use_points.get()
                        on:change=move |ev| {
                            points_entry.set(None);
                            use_points.set(event_target_checked(&ev));
                        } />
                    {label}
                </label>
                {move || use_points.get().then(|| {
                    part_view(Box::pin(points_field(field_input.clone(), points_refused, locale)), locale)
                })}
            })}
            {balance_label.map(|label| view! {
                {move || external_chosen.get().then(|| view! {
                    <label class="ck-toggle">
                        <input type="checkbox" data-testid="use-balance"
                            prop:checked=move || use_balance.get()
                            on:change=move |ev| use_balance.set(event_target_checked(&ev)) />
                        {label.clone()}
                    </label>
                }.into_any())}
            })}
            {move || splitting.get().then(|| part_view(Box::pin(breakdown(split.clone(), locale)), locale))}
        </div>
    }
}

/// What the shopper chose so far, for the split's lazily loaded part.
#[derive(Clone)]
pub struct SplitInput {
    session: Session,
    chosen: RwSignal<Option<PaymentMethod>>,
    use_points: RwSignal<bool>,
    use_balance: RwSignal<bool>,
    points_entry: RwSignal<Option<String>>,
}

impl SplitInput {
    /// The split as planned now: `None` until a method is chosen or while neither points nor
    /// balance is on.
    fn planned(&self) -> Option<Result<Option<Allocation>, Problem>> {
        let method = self.chosen.get()?;
        let entry = self.points_entry.get();
        let use_points = self.use_points.get();
        let use_balance = self.use_balance.get();
        (use_points || use_balance).then(|| {
            plan(
                &self.session,
                method,
                use_points,
                use_balance,
                entry.as_deref(),
            )
        })
    }
}

/// The stylesheet of the breakdown's and the points field's parts (`split.css`, minified by
/// `build.rs`): it comes with them, not in the first view.
const STYLE: &str = include_str!(concat!(env!("OUT_DIR"), "/split.min.css"));

lazy_part! {
    split_breakdown, preload_split_breakdown,
    /// The live breakdown of the total, a lazily loaded part (`components/parts.rs`).
    pub fn breakdown(input: SplitInput, locale: Locale) -> Result<AnyView, Problem> = breakdown_part
}

fn breakdown_part(input: SplitInput, locale: Locale) -> Result<AnyView, Problem> {
    let lines = move || {
        let lines = match input.planned()? {
            Ok(Some(allocation)) => breakdown_lines(&input.session, &allocation, locale),
            Ok(None) => return None,
            Err(problem) if problem.about_points() => return None,
            Err(problem) => vec![locale.problem_text(&problem)],
        };
        Some(view! {
            <ul class="ck-split" data-testid="split-breakdown" aria-live="polite">
                {lines.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}
            </ul>
        })
    };
    Ok(view! { <style>{STYLE}</style> {lines} }.into_any())
}

lazy_part! {
    points_field, preload_points_field,
    /// The points field, a lazily loaded part (`components/parts.rs`). While the rules refuse the
    /// figure typed, it says why and holds `refused`.
    pub fn points_field(
        input: SplitInput,
        refused: RwSignal<bool>,
        locale: Locale,
    ) -> Result<AnyView, Problem> = points_field_part
}

fn points_field_part(
    input: SplitInput,
    refused: RwSignal<bool>,
    locale: Locale,
) -> Result<AnyView, Problem> {
    let planned = input.clone();
    let problem = Signal::derive(move || match planned.planned() {
        Some(Err(problem)) if problem.about_points() => Some(problem),
        _ => None,
    });
    Effect::new(move |_| refused.set(problem.get().is_some()));
    on_cleanup(move || refused.set(false));
    let field = PointsField {
        session: input.session,
        chosen: input.chosen,
        use_balance: input.use_balance,
        points_entry: input.points_entry,
        refused: problem,
    };
    Ok(field.view(locale).into_any())
}

/// One line per leg: the points and their value, store balance, the external method's rest.
fn breakdown_lines(
    session: &WidgetSession,
    allocation: &Allocation,
    locale: Locale,
) -> Vec<String> {
    let (t, later) = (locale.messages(), locale.part_messages());
    let value = session
        .points
        .and_then(|p| p.rules.value_of(allocation.points, session.currency).ok());
    let mut lines = Vec::new();
    if let Some(value) = value.filter(|v| !v.is_zero()) {
        let points = format::count(allocation.points.unsigned_abs(), locale);
        let value = format::money(value, locale);
        lines.push(fill(later.points_line, &[&points, &value]));
    }
    if !allocation.balance.is_zero() {
        let balance = format::money(allocation.balance, locale);
        lines.push(fill(later.balance_line, &[&balance]));
    }
    if let Some((m, amount)) = allocation.external {
        lines.push(format!(
            "{}: {}",
            t.method(m),
            format::money(amount, locale)
        ));
    }
    lines
}

/// The points field: how many points to use, bounded by the rules, with the reason beside it
/// when the rules refuse the figure.
#[derive(Clone)]
struct PointsField {
    session: Session,
    chosen: RwSignal<Option<PaymentMethod>>,
    use_balance: RwSignal<bool>,
    points_entry: RwSignal<Option<String>>,
    /// Why the typed figure cannot be used, if it cannot.
    refused: Signal<Option<Problem>>,
}

impl PointsField {
    fn view(self, locale: Locale) -> impl IntoView {
        let t = locale.part_messages();
        let PointsField {
            session,
            chosen,
            use_balance,
            points_entry,
            refused,
        } = self;
        let bounds = points_bounds(&session);
        // No range to offer when the shopper has fewer points than the minimum per use.
        let range = bounds.filter(|b| b.max >= b.min).map(|b| {
            let min = format::count(b.min.unsigned_abs(), locale);
            let max = format::count(b.max.unsigned_abs(), locale);
            fill(t.points_range, &[&min, &max])
        });
        // Until the shopper types, the field shows the figure the split suggests.
        let suggested = move || {
            chosen
                .get()
                .and_then(|m| split(&session, m, true, use_balance.get()).ok().flatten())
                .map_or(0, |a| a.points)
        };
        let value = move || {
            points_entry
                .get()
                .unwrap_or_else(|| suggested().to_string())
        };
        let invalid = move || refused.get().is_some();
        view! {
            <style>{STYLE}</style>
            <div class="ck-points">
                <label for="ck-points">{t.points_to_use}</label>
                <input
                    id="ck-points"
                    data-testid="points-input"
                    type="number"
                    inputmode="numeric"
                    min=bounds.map(|b| b.min.to_string())
                    max=bounds.map(|b| b.max.to_string())
                    step=bounds.map(|b| b.step.to_string())
                    aria-invalid=move || invalid().to_string()
                    aria-describedby=move || {
                        if invalid() { "ck-points-range ck-points-error" } else { "ck-points-range" }
                    }
                    prop:value=value
                    on:input=move |ev| points_entry.set(Some(event_target_value(&ev)))
                />
                <p id="ck-points-range" class="ck-help">{range}</p>
                {move || refused.get().map(|problem| view! {
                    <p id="ck-points-error" class="ck-field-error" data-testid="points-error">
                        {locale.problem_text(&problem)}
                    </p>
                })}
            </div>
        }
    }
}
