//! Faults the APIs inject on request (`Faults` of the scenario): a refused
//! `register`.

use axum::http::StatusCode;

/// The refusal of every `register` when the scenario asks for `status`.
pub(super) fn register_refusal(status: Option<u16>) -> Option<(StatusCode, &'static str, String)> {
    let code = status?;
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Some((
        status,
        "Fault.Injected",
        format!("the emulator answers {code} to register (fault injection)"),
    ))
}
