//! The widget's lazily loaded parts: the screens a shopper reaches only after acting (and the
//! error messages, `i18n/errors.rs`). Each is a split point of the wasm, declared with
//! `lazy_part!` (`src/lazy.rs`; `xtask/src/split.rs` cuts them out); the first view downloads none
//! of them, and once the widget is interactive they are fetched in the background, so pressing
//! Pay does not wait for the network.
//!
//! A part that cannot be fetched (the network dropped) is an ordinary [`Problem::Unreachable`]:
//! the shopper can try again, and the next call fetches afresh.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos::wasm_split::SplitLoaderError;
use send_wrapper::SendWrapper;

use super::balance_pay::preload_wallet_form;
use super::checkout::{preload_pay, preload_status_polling, preload_waiting_screen};
use super::result::preload_paid_screen;
use super::split::{preload_points_field, preload_split_breakdown};
use super::ErrorNotice;
use crate::i18n::Locale;
use crate::state::Problem;

impl From<SplitLoaderError> for Problem {
    fn from(_: SplitLoaderError) -> Problem {
        Problem::Unreachable
    }
}

/// A part's view on the way: what a split view function returns.
pub type PartView = Pin<Box<dyn Future<Output = Result<AnyView, Problem>>>>;

/// Work whose code lives in a part: a split function returns it, and the caller awaits it.
pub type PartTask = Pin<Box<dyn Future<Output = ()>>>;

/// A part's view once it has loaded, or why it could not be shown; nothing until then. One
/// function for every part (boxed, not generic), so the code that waits for a part exists once in
/// the first view. A slot the task fills and a trigger, not Leptos' `Suspend`: that brings its
/// suspense and error-boundary machinery into the first view, and a part needs neither.
pub fn part_view(part: PartView, locale: Locale) -> AnyView {
    let slot: Rc<RefCell<Option<AnyView>>> = Rc::default();
    let arrived = ArcTrigger::new();
    let (filled, notify) = (Rc::clone(&slot), arrived.clone());
    // The task touches no signal of the widget: if the widget is gone when the part lands, the
    // view is dropped unseen.
    spawn_local(async move {
        after_held_frame().await;
        let view = match part.await {
            Ok(view) => view,
            Err(error) => view! { <ErrorNotice error=error locale=locale /> }.into_any(),
        };
        *filled.borrow_mut() = Some(view);
        notify.notify();
    });
    // The browser runs the widget on one thread; views ask for Send all the same.
    let slot = SendWrapper::new(slot);
    (move || {
        arrived.track();
        slot.borrow_mut().take()
    })
    .into_any()
}

thread_local! {
    /// Whether the parts asked for now wait for the next frame ([`hold_parts_for_a_frame`]).
    static HOLD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Holds back the parts the next render asks for (the first view's wallet form, when the store
/// balance is the method chosen first) until that render's frame has been laid out: their fetches,
/// and the pay-password frame's navigation that follows, would otherwise start in the middle of
/// it. Chromium asks its browser process, synchronously, for the rendering settings of every font
/// size and weight the first layout meets, and those requests keep that process busy (a trace of
/// `cargo xtask bench tti`: four such calls of 4-11 ms each in the first view's layout, with the
/// part's seven requests just sent). Parts shown later (from the first frame on, or 300 ms on if
/// the first view shows none) wait for nothing.
pub fn hold_parts_for_a_frame() {
    HOLD.set(true);
}

/// The next frame's animation callbacks, then a timer (which runs after the frame's style and
/// layout), while parts are held; at once otherwise. A page in a background tab draws no frames:
/// there the timer alone ends the wait.
async fn after_held_frame() {
    if HOLD.get() {
        wait_for(&mut |window, resolve| {
            let _ = window.request_animation_frame(resolve);
            let _ = window
                .set_timeout_with_callback_and_timeout_and_arguments_0(resolve, FRAME_FALLBACK_MS);
        })
        .await;
        HOLD.set(false);
        wait_for(&mut |window, resolve| {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(resolve, 0);
        })
        .await;
    }
}

/// When a page draws no frames (a background tab), how long held parts wait at most.
const FRAME_FALLBACK_MS: i32 = 200;

/// Resolves once `arm` has had the browser call `resolve` (never without a window).
async fn wait_for(arm: &mut dyn FnMut(&web_sys::Window, &js_sys::Function)) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            arm(&window, &resolve);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Fetches every part in the background, once the first view is up. A failure is left for the
/// part's first use to retry.
pub async fn prefetch_all() {
    after_first_view().await;
    // A first view without parts leaves nothing to hold.
    HOLD.set(false);
    let _ = preload_pay().await;
    let _ = crate::i18n::errors::load().await;
    let _ = preload_points_field().await;
    let _ = preload_split_breakdown().await;
    let _ = preload_wallet_form().await;
    let _ = preload_waiting_screen().await;
    let _ = preload_status_polling().await;
    let _ = preload_paid_screen().await;
}

/// Resolves once the first view has had time to be on screen and usable: parts wait for this,
/// so nothing competes with the first view for the network and the main thread.
pub async fn after_first_view() {
    wait_for(&mut |window, resolve| {
        let _ = window
            .set_timeout_with_callback_and_timeout_and_arguments_0(resolve, PREFETCH_DELAY_MS);
    })
    .await;
}

/// Long enough for the first view to be on screen and usable before anything else competes
/// for the network and the main thread.
const PREFETCH_DELAY_MS: i32 = 300;
