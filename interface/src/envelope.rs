//! The envelope every export answers with: `{"ok": <output>}` or `{"error": <error>}`, exactly
//! one of the two.

use serde::{Deserialize, Serialize};

use crate::error::ConnectorError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Envelope<T> {
    Ok(T),
    Error(ConnectorError),
}

impl<T> Envelope<T> {
    pub fn into_result(self) -> Result<T, ConnectorError> {
        match self {
            Envelope::Ok(t) => Ok(t),
            Envelope::Error(e) => Err(e),
        }
    }
}

impl<T> From<Result<T, ConnectorError>> for Envelope<T> {
    fn from(r: Result<T, ConnectorError>) -> Self {
        match r {
            Ok(t) => Envelope::Ok(t),
            Err(e) => Envelope::Error(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn exactly_one_of_ok_and_error() {
        let ok: Envelope<serde_json::Value> = serde_json::from_str(r#"{"ok":{"a":1}}"#).unwrap();
        assert_eq!(ok.into_result().unwrap()["a"], 1);
        let e: Envelope<serde_json::Value> =
            serde_json::from_str(r#"{"error":{"code":"invalid_input","message":"m","field":"f"}}"#).unwrap();
        let e = e.into_result().unwrap_err();
        assert_eq!((e.code(), e.field()), (ErrorCode::InvalidInput.as_str(), Some("f")));
        for bad in ["nope", r#"{"ok":1,"error":{}}"#, r#"{"error":{"code":"invalid_input"}}"#, "[]", "{}"] {
            assert!(serde_json::from_str::<Envelope<serde_json::Value>>(bad).is_err(), "{bad}");
        }
    }
}
