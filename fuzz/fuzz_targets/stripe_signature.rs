//! libFuzzer entry point; the checks are in [`checkout_fuzz::stripe_signature`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| checkout_fuzz::stripe_signature::check(data));
