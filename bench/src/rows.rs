//! A measured export as the table shows it and the report records it: beside the floor and
//! beside what moving its bytes costs, both taken in turn with it.

use host_harness::ConnectorHost;
use serde_json::{json, Value};

use crate::measure::{fig, measure_in_turn, median_of, ratio, Figure};

/// A table row: label, the floor taken in turn with it, wasm, native, answer bytes, moving us,
/// own work us (the last three 0 for rows that carry no comparison).
pub type Row = (String, Figure, Figure, Figure, usize, f64, f64);

/// What the bench knows of one measured export call: its figures, the floor and the moving
/// cost taken in turn with it, and the bytes it carried.
pub struct Measured<'a> {
    pub label: &'a str,
    pub in_turn: InTurn,
    pub input_bytes: usize,
    pub answer_bytes: usize,
    pub budgeted: bool,
}

/// The input of `sized_noop` that carries what a call with `input_bytes` in and `answer_bytes`
/// out carries: the answer's length, padded to the input's.
pub fn sized_input(input_bytes: usize, answer_bytes: usize) -> Vec<u8> {
    let mut sized = answer_bytes.to_string().into_bytes();
    sized.resize(input_bytes.max(sized.len()), b' ');
    sized
}

/// A call timed in turn with the floor, with what moving its bytes costs, and with the same
/// core natively: every figure of a row meets the same moments of the machine.
pub struct InTurn {
    pub floor: Figure,
    pub moved: Figure,
    pub wasm: Figure,
    pub native: Figure,
}

/// `call` timed in turn with the floor (`noop`), with `sized_noop` carrying the same bytes
/// (`(input, answer)`) and with `native`, the same core natively; the floor's raw samples are
/// added to `floor_samples`.
pub fn with_floor_and_moving(
    host: &ConnectorHost,
    samples: usize,
    (noop, floor_samples): (&mut dyn FnMut(), &mut Vec<f64>),
    (input_bytes, answer_bytes): (usize, usize),
    call: &mut dyn FnMut(),
    native: &mut dyn FnMut(),
) -> InTurn {
    let sized = sized_input(input_bytes, answer_bytes);
    let [fl, moved, w, n] = measure_in_turn(
        samples,
        [
            noop,
            &mut || {
                host.call_raw("sized_noop", &sized).unwrap();
            },
            call,
            native,
        ],
    );
    floor_samples.extend_from_slice(&fl);
    InTurn { floor: median_of(fl), moved: median_of(moved), wasm: median_of(w), native: median_of(n) }
}

/// The export's row and report entry, beside the floor and beside what extism charges for moving
/// this input and this answer with no work (`sized_noop`), both taken in turn with it.
pub fn sized_row(m: Measured) -> (Row, Value) {
    let InTurn { floor, moved, wasm, native } = m.in_turn;
    let own = (wasm.median - moved.median).max(0.0);
    // What the call would cost if the wasm ran as fast as native code: moving its bytes
    // through extism, plus the same core's work natively.
    let limit = moved.median + native.median;
    let entry = json!({
        "limit_us": (limit * 10.0).round() / 10.0,
        "to_limit": ratio(wasm.median, limit),
        "wasm_us": fig(wasm),
        "native_us": fig(native),
        "floor_us": fig(floor),
        "ratio_to_floor": ratio(wasm.median, floor.median),
        "input_bytes": m.input_bytes,
        "answer_bytes": m.answer_bytes,
        "moving_floor_us": fig(moved),
        "own_work_us": (own * 10.0).round() / 10.0,
        "own_work_to_floor": ratio(own, floor.median),
        "budgeted": m.budgeted,
    });
    ((m.label.to_string(), floor, wasm, native, m.answer_bytes, moved.median, own), entry)
}

/// A network export's row and report entry: no moving cost, the export's time is the network's.
pub fn network_row(label: &str, floor: Figure, wasm: Figure, native: Figure) -> (Row, Value) {
    let entry = json!({"wasm_us": fig(wasm), "native_us": fig(native), "floor_us": fig(floor), "ratio_to_floor": ratio(wasm.median, floor.median)});
    ((label.to_string(), floor, wasm, native, 0, 0.0, 0.0), entry)
}
