//! Looking at eight bytes at once: one `u64` per eight bytes of text, and tests on all its bytes
//! together. Inside wasm, with fuel counted on every loop, one test per word is much cheaper than
//! eight per byte; the long strings of the hot paths (tokens, codes, URLs) are where it pays.
//! Used by `json_out` (what JSON escapes), `encode` (what percent-encoding keeps) and `input`
//! (where a string ends).

/// 0x01 in every byte.
pub const ONES: u64 = 0x0101_0101_0101_0101;
/// 0x80 in every byte.
pub const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The eight bytes of `chunk` (of exactly eight) as one little-endian word.
pub fn word(chunk: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(chunk);
    u64::from_le_bytes(w)
}

/// The high bit of every byte of `w` that equals `byte` (and possibly of bytes above one that
/// does: only whether the result is zero is exact).
fn bytes_equal(w: u64, byte: u8) -> u64 {
    let x = w ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// Whether any of the eight bytes of `w` is `"` or `\`.
pub fn any_quote_or_backslash(w: u64) -> bool {
    bytes_equal(w, b'"') | bytes_equal(w, b'\\') != 0
}
