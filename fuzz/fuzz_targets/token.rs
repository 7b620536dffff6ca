//! libFuzzer entry point; the checks are in [`checkout_fuzz::token`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| checkout_fuzz::token::check(data));
