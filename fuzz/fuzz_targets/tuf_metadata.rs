//! libFuzzer entry for [`wport_fuzz_harness::tuf_metadata`] (the body lives in the
//! harness crate, so the corpus also runs as a stable `#[test]`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wport_fuzz_harness::tuf_metadata(data));
