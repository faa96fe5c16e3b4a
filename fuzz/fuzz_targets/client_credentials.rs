#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| entra_id_connector_fuzz::run("client_credentials", data));
