#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    djcheck_tests::fuzzing::python_front_end(data);
});
