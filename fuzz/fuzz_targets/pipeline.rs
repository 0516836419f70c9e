#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = djcheck_tests::fuzzing::pipeline(data);
});
