#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| entra_id_connector_fuzz::run(connector_interface::Export::DeviceCodeStart, data));
