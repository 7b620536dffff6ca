//! libFuzzer entry point; the checks are in [`checkout_fuzz::wechat_resource`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| checkout_fuzz::wechat_resource::check(data));
