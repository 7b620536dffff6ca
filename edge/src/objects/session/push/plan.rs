//! What the session sends to its status sockets, and when: pure decisions, no I/O, so the shell
//! (`push.rs`) only reads the sockets, calls these and does what they say.
//!
//! - A socket is admitted while the session has fewer than
//!   [`MAX_STATUS_SOCKETS_PER_SESSION`] open ([`admit`]).
//! - Each socket remembers (in its hibernation-proof attachment, [`SocketNote`]) the digest of
//!   the last view it was sent and when its widget token expires. After a save, a socket is sent
//!   the view if it differs from the last one it got; a view whose status is no longer
//!   `processing` is the last: it is sent, then the socket is closed normally (1000). A socket
//!   whose token has expired is closed (1008) without being sent anything more ([`plan`]).
//! - While a socket is open and a leg awaits the shopper, the session asks the provider by its
//!   alarm at the pace the widget's polls did: every [`STATUS_QUERY_EVERY_S`] for the first
//!   [`BRISK_FOR_S`] of the wait, then every [`TICK_EVERY_S`] ([`alarm_at`]).

use checkout_core::api::{SessionStatus, WidgetSession, MAX_STATUS_SOCKETS_PER_SESSION};
use checkout_core::ErrorCode;
use serde::{Deserialize, Serialize};

use super::super::notification::STATUS_QUERY_EVERY_S;

/// The close code after the final view: a normal closure (RFC 6455, 7.4.1).
pub const CLOSE_SETTLED: u16 = 1000;
/// The close code when the socket's token has expired: a policy violation (RFC 6455, 7.4.1).
pub const CLOSE_TOKEN_EXPIRED: u16 = 1008;

/// For this long after a leg started waiting for the shopper, the provider is asked every
/// [`STATUS_QUERY_EVERY_S`] (the polls asked at 1, 2.5, 4.75 and 8.1 s, at most every 3 s)...
pub const BRISK_FOR_S: i64 = 10;
/// ...then every 5 s, the polls' own pace once they had backed off: a longer wait asks the
/// provider no more often than polling did (each ask is a signed provider call, several ms of
/// CPU, and counts against the provider's rate limits).
pub const TICK_EVERY_S: i64 = 5;

/// What a socket carries across hibernation (its attachment; Cloudflare keeps at most 2 KB).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocketNote {
    /// When the widget token that opened the socket expires, unix seconds.
    pub token_exp_s: i64,
    /// The digest of the last view sent ([`View::digest`]); `None` before the first.
    pub sent: Option<String>,
}

/// The view a socket is sent, serialised once for all sockets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    /// The JSON text, the same as `GET /v1/widget/sessions/{id}?wallet=omit` answers.
    pub text: String,
    /// FNV-1a 64 of `text`, in hex: enough to tell two views of one session apart.
    pub digest: String,
    /// The wait is over (the status is no longer `processing`): this view is the last.
    pub last: bool,
}

impl View {
    pub fn of(view: &WidgetSession) -> serde_json::Result<View> {
        let text = serde_json::to_string(view)?;
        Ok(View {
            digest: format!("{:016x}", fnv1a(text.as_bytes())),
            last: view.status != SessionStatus::Processing,
            text,
        })
    }
}

/// What to do with one socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing changed for this socket.
    Keep,
    /// Send the view, remember `note`, then close with [`CLOSE_SETTLED`] if `close_after`.
    Send { note: SocketNote, close_after: bool },
    /// Close with `code` and `reason`, sending nothing.
    Close { code: u16, reason: &'static str },
}

/// Whether one more socket may open, with `open` already open.
pub fn admit(open: usize) -> Result<(), ErrorCode> {
    if open >= MAX_STATUS_SOCKETS_PER_SESSION {
        return Err(ErrorCode::TooManyStatusSockets);
    }
    Ok(())
}

/// What a socket whose note is `note` gets when the session's view is `view` at `now_s`.
pub fn plan(note: &SocketNote, view: &View, now_s: i64) -> Action {
    if now_s >= note.token_exp_s {
        return Action::Close {
            code: CLOSE_TOKEN_EXPIRED,
            reason: "token expired",
        };
    }
    if note.sent.as_deref() == Some(view.digest.as_str()) {
        // Sent already; a last view sent to a socket that is still open is closed now.
        return match view.last {
            true => Action::Close {
                code: CLOSE_SETTLED,
                reason: "settled",
            },
            false => Action::Keep,
        };
    }
    Action::Send {
        note: SocketNote {
            token_exp_s: note.token_exp_s,
            sent: Some(view.digest.clone()),
        },
        close_after: view.last,
    }
}

/// The object's alarm time: the saga's own (`saga_at`), or sooner while a socket is open and a
/// leg has awaited the shopper since `awaiting_since_s`, so the provider is asked as the polls
/// did ([`BRISK_FOR_S`], [`TICK_EVERY_S`]). The earlier of the two wins; the saga's is
/// recomputed at every arming, never lost.
pub fn alarm_at(
    saga_at: Option<i64>,
    sockets_open: bool,
    awaiting_since_s: Option<i64>,
    now_s: i64,
) -> Option<i64> {
    let tick = awaiting_since_s.filter(|_| sockets_open).map(|since| {
        let every = match now_s - since < BRISK_FOR_S {
            true => STATUS_QUERY_EVERY_S,
            false => TICK_EVERY_S,
        };
        now_s + every
    });
    match (saga_at, tick) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Whether an alarm at `now_s` is the saga's (its own time has come) rather than only the
/// sockets' tick, which must not step the saga early.
pub fn saga_due(saga_at: Option<i64>, now_s: i64) -> bool {
    saga_at.is_some_and(|at| at <= now_s)
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(text: &str, last: bool) -> View {
        View {
            text: text.to_owned(),
            digest: format!("{:016x}", fnv1a(text.as_bytes())),
            last,
        }
    }

    fn note(sent: Option<&View>) -> SocketNote {
        SocketNote {
            token_exp_s: 1_000,
            sent: sent.map(|v| v.digest.clone()),
        }
    }

    #[test]
    fn a_fifth_socket_is_refused() {
        for open in 0..MAX_STATUS_SOCKETS_PER_SESSION {
            assert_eq!(admit(open), Ok(()));
        }
        assert_eq!(admit(4), Err(ErrorCode::TooManyStatusSockets));
        assert_eq!(admit(9), Err(ErrorCode::TooManyStatusSockets));
    }

    #[test]
    fn a_new_socket_gets_the_view_at_once() {
        let waiting = view(r#"{"status":"processing"}"#, false);
        let action = plan(&note(None), &waiting, 10);
        assert_eq!(
            action,
            Action::Send {
                note: note(Some(&waiting)),
                close_after: false
            }
        );
    }

    #[test]
    fn only_a_changed_view_is_sent_again() {
        let waiting = view(r#"{"status":"processing"}"#, false);
        assert_eq!(plan(&note(Some(&waiting)), &waiting, 10), Action::Keep);
        let qr = view(r#"{"status":"processing","next_action":{}}"#, false);
        assert!(matches!(
            plan(&note(Some(&waiting)), &qr, 10),
            Action::Send {
                close_after: false,
                ..
            }
        ));
    }

    #[test]
    fn the_last_view_is_sent_then_the_socket_closed_normally() {
        let waiting = view(r#"{"status":"processing"}"#, false);
        let paid = view(r#"{"status":"paid"}"#, true);
        assert_eq!(
            plan(&note(Some(&waiting)), &paid, 10),
            Action::Send {
                note: note(Some(&paid)),
                close_after: true
            }
        );
        // A socket that has it already and is somehow open is closed without a second copy.
        assert_eq!(
            plan(&note(Some(&paid)), &paid, 10),
            Action::Close {
                code: CLOSE_SETTLED,
                reason: "settled"
            }
        );
    }

    #[test]
    fn a_socket_whose_token_expired_is_closed_and_sent_nothing() {
        let paid = view(r#"{"status":"paid"}"#, true);
        let expired = SocketNote {
            token_exp_s: 10,
            sent: None,
        };
        assert_eq!(
            plan(&expired, &paid, 10),
            Action::Close {
                code: CLOSE_TOKEN_EXPIRED,
                reason: "token expired"
            }
        );
    }

    #[test]
    fn views_of_sessions_are_last_unless_processing() {
        let mut session = crate::saga::record::tests::record().widget_view(None);
        session.status = SessionStatus::Processing;
        let waiting = View::of(&session).unwrap();
        assert!(!waiting.last);
        assert_eq!(
            serde_json::from_str::<WidgetSession>(&waiting.text).unwrap(),
            session
        );
        for status in [
            SessionStatus::Open,
            SessionStatus::Paid,
            SessionStatus::Authorized,
            SessionStatus::Expired,
            SessionStatus::RequiresReview,
        ] {
            session.status = status;
            let settled = View::of(&session).unwrap();
            assert!(settled.last, "{status:?}");
            assert_ne!(settled.digest, waiting.digest);
        }
    }

    #[test]
    fn the_provider_tick_runs_only_with_a_socket_and_a_leg_awaiting_the_shopper() {
        let now = 100;
        let since = Some(95);
        assert_eq!(alarm_at(None, true, since, now), Some(103));
        assert_eq!(alarm_at(None, false, since, now), None);
        assert_eq!(alarm_at(None, true, None, now), None);
        // The earlier of the two, and the saga's own time is kept when it is sooner.
        assert_eq!(alarm_at(Some(500), true, since, now), Some(103));
        assert_eq!(alarm_at(Some(101), true, since, now), Some(101));
        assert_eq!(alarm_at(Some(500), false, since, now), Some(500));
        // After the first seconds of the wait, at the polls' slower pace.
        assert_eq!(alarm_at(None, true, Some(90), now), Some(105));
        assert_eq!(alarm_at(Some(104), true, Some(20), now), Some(104));
        assert!(saga_due(Some(100), now));
        assert!(!saga_due(Some(101), now));
        assert!(!saga_due(None, now));
    }
}
