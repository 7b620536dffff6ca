//! The current time. Core logic never reads a clock; the edge passes `now` down.

pub fn now_ms() -> i64 {
    worker::Date::now().as_millis() as i64
}

pub fn now_s() -> i64 {
    now_ms() / 1000
}
