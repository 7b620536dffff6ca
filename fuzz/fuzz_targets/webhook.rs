//! libFuzzer entry point; the checks are in [`checkout_fuzz::webhook`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| checkout_fuzz::webhook::check(data));
