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
    /// `sized_noop` carrying, besides the export's own bytes, the documents of its host function
    /// calls (when the call makes any): what crossing extism's boundary costs the whole call.
    pub moved_with_host_calls: Option<(Figure, HostCallBytes)>,
}

/// The bytes of the host function calls an export makes: the request documents it writes into
/// extism's memory and the answers it reads back.
#[derive(Clone, Copy)]
pub struct HostCallBytes {
    pub written: usize,
    pub read: usize,
}

/// `call` timed in turn with the floor (`noop`), with `sized_noop` carrying the same bytes
/// (`(input, answer)`) and with `native`, the same core natively; the floor's raw samples are
/// added to `floor_samples`.
pub fn with_floor_and_moving(
    host: &ConnectorHost,
    samples: usize,
    (noop, floor_samples): (&mut dyn FnMut(), &mut Vec<f64>),
    (input_bytes, answer_bytes): (usize, usize),
    host_calls: Option<HostCallBytes>,
    call: &mut dyn FnMut(),
    native: &mut dyn FnMut(),
) -> InTurn {
    let sized = sized_input(input_bytes, answer_bytes);
    // The host calls' answers come in as an input does, their requests go out as an answer does.
    let sized_whole = host_calls.map(|h| sized_input(input_bytes + h.read, answer_bytes + h.written));
    let [fl, moved, w, n, whole] = measure_in_turn(
        samples,
        [
            noop,
            &mut || {
                host.call_raw("sized_noop", &sized).unwrap();
            },
            call,
            native,
            &mut || {
                if let Some(sized) = &sized_whole {
                    host.call_raw("sized_noop", sized).unwrap();
                }
            },
        ],
    );
    floor_samples.extend_from_slice(&fl);
    InTurn {
        floor: median_of(fl),
        moved: median_of(moved),
        wasm: median_of(w),
        native: median_of(n),
        moved_with_host_calls: host_calls.map(|h| (median_of(whole), h)),
    }
}

/// The export's row and report entry, beside the floor and beside what extism charges for moving
/// this input and this answer with no work (`sized_noop`), both taken in turn with it.
pub fn sized_row(m: Measured) -> (Row, Value) {
    let InTurn { floor, moved, wasm, native, moved_with_host_calls } = m.in_turn;
    let own = (wasm.median - moved.median).max(0.0);
    // What the call would cost if the wasm ran as fast as native code: moving its bytes
    // through extism, plus the same core's work natively.
    let limit = moved.median + native.median;
    let mut entry = json!({
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
    // Information, not a budget: the limit had the host calls' documents crossed the boundary too.
    if let Some((whole, bytes)) = moved_with_host_calls {
        let limit = whole.median + native.median;
        entry["host_calls"] = json!({
            "request_bytes": bytes.written,
            "answer_bytes": bytes.read,
            "moving_with_host_calls_us": fig(whole),
            "limit_us": (limit * 10.0).round() / 10.0,
            "to_limit": ratio(wasm.median, limit),
        });
    }
    ((m.label.to_string(), floor, wasm, native, m.answer_bytes, moved.median, own), entry)
}

/// A network export's row and report entry: no moving cost, the export's time is the network's.
pub fn network_row(label: &str, floor: Figure, wasm: Figure, native: Figure) -> (Row, Value) {
    let entry = json!({"wasm_us": fig(wasm), "native_us": fig(native), "floor_us": fig(floor), "ratio_to_floor": ratio(wasm.median, floor.median)});
    ((label.to_string(), floor, wasm, native, 0, 0.0, 0.0), entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(median: f64) -> Figure {
        Figure { median, samples: 500 }
    }

    #[test]
    fn a_row_with_host_calls_has_both_limits() {
        let in_turn = |host_calls| InTurn {
            floor: figure(5.0),
            moved: figure(10.0),
            wasm: figure(60.0),
            native: figure(20.0),
            moved_with_host_calls: host_calls,
        };
        let bytes = HostCallBytes { written: 900, read: 2200 };
        let m = |in_turn| Measured { label: "x", in_turn, input_bytes: 400, answer_bytes: 2100, budgeted: true };
        let (row, entry) = sized_row(m(in_turn(Some((figure(15.0), bytes)))));
        // The budget's limit leaves the host calls out: 60 / (10 + 20).
        assert_eq!((entry["to_limit"].as_f64(), row.6), (Some(2.0), 50.0));
        // The information counts them: 60 / (15 + 20).
        let h = &entry["host_calls"];
        assert_eq!((h["to_limit"].as_f64(), h["limit_us"].as_f64()), (Some(1.71), Some(35.0)));
        assert_eq!((h["request_bytes"].as_u64(), h["answer_bytes"].as_u64()), (Some(900), Some(2200)));
        let (_, entry) = sized_row(m(in_turn(None)));
        assert!(entry.get("host_calls").is_none());
    }

    #[test]
    fn the_whole_boundary_is_carried_as_one_sized_call() {
        // Answers of the host calls come in with the input; requests go out with the answer.
        let sized = sized_input(400 + 2200, 2100 + 900);
        assert_eq!(sized.len(), 2600);
        assert!(sized.starts_with(b"3000 "));
    }
}
