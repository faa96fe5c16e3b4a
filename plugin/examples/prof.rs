use entra_id_connector::{api, http::NoHttp, settings::Platform};
fn main() {
    let export = std::env::args().nth(1).unwrap();
    let input = std::fs::read(std::env::args().nth(2).unwrap()).unwrap();
    let n: usize = std::env::args().nth(3).map(|s| s.parse().unwrap()).unwrap_or(100000);
    let platform = Platform { client_id: Some("11111111-2222-3333-4444-555555555555".into()), ..Default::default() };
    let t = std::time::Instant::now();
    let mut len = 0;
    for _ in 0..n { len += api::call(&export, &input, &platform, &mut NoHttp).len(); }
    eprintln!("{} us/call ({len})", t.elapsed().as_secs_f64() * 1e6 / n as f64);
}
