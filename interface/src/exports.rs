//! The one table of interface v1 exports: name, whether every connector must have it, and the
//! types of its input and output. Connectors generate their export functions from it, hosts
//! their typed calls and their load-time check, the fuzz targets and the Makefile their lists.

/// Calls `$callback!` with every export as `(name, Variant, required, Input, Output)`, in the
/// order docs/interface.md lists them. `Input` takes the settings type as its parameter
/// (`Input<S>`), so that a connector can decode its own settings and a host send a map.
#[macro_export]
macro_rules! interface_v1_exports {
    ($callback:ident) => {
        $callback! {
            (describe, Describe, true, DescribeInput, Description),
            (validate_settings, ValidateSettings, false, ValidateSettingsInput, Validated),
            (list_scopes, ListScopes, true, ListScopesInput, ScopeList),
            (authorize_url, AuthorizeUrl, true, AuthorizeUrlInput, AuthorizeUrlOutput),
            (admin_consent_url, AdminConsentUrl, true, AdminConsentUrlInput, AdminConsentUrlOutput),
            (exchange_code, ExchangeCode, true, ExchangeCodeInput, TokenSet),
            (refresh_token, RefreshToken, true, RefreshTokenInput, TokenSet),
            (client_credentials, ClientCredentials, true, ClientCredentialsInput, TokenSet),
            (test_connection, TestConnection, true, TestConnectionInput, TestResult),
            (classify_error, ClassifyError, true, ClassifyErrorInput, Classification),
            (device_code_start, DeviceCodeStart, false, DeviceCodeStartInput, DeviceCode),
            (device_code_poll, DeviceCodePoll, false, DeviceCodePollInput, DevicePoll),
        }
    };
}

/// Every connector also exports this: its interface version as decimal text.
pub const INTERFACE_VERSION_EXPORT: &str = "interface_version";

/// An export's row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportInfo {
    pub export: Export,
    pub name: &'static str,
    /// Whether a connector without it is refused at load.
    pub required: bool,
    /// The input and output schema names under docs/schemas (`{name}.input`, `{name}.output`).
    pub input_type: &'static str,
    pub output_type: &'static str,
}

macro_rules! define_exports {
    ($(($name:ident, $variant:ident, $required:literal, $input:ident, $output:ident)),* $(,)?) => {
        /// An interface v1 export.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Export { $($variant,)* }

        /// Every export, in the contract's order.
        pub const EXPORTS: &[ExportInfo] = &[
            $(ExportInfo {
                export: Export::$variant,
                name: stringify!($name),
                required: $required,
                input_type: stringify!($input),
                output_type: stringify!($output),
            },)*
        ];

        impl Export {
            pub const ALL: &'static [Export] = &[$(Export::$variant,)*];

            /// The export's name in the module.
            pub const fn name(self) -> &'static str {
                match self { $(Export::$variant => stringify!($name),)* }
            }

            pub fn from_name(name: &str) -> Option<Export> {
                match name { $(stringify!($name) => Some(Export::$variant),)* _ => None }
            }

            pub fn info(self) -> &'static ExportInfo {
                &EXPORTS[self as usize]
            }

            pub fn required(self) -> bool {
                self.info().required
            }
        }
    };
}

interface_v1_exports!(define_exports);

impl std::fmt::Display for Export {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The names of the exports a connector must have, `interface_version` first.
pub fn required_names() -> impl Iterator<Item = &'static str> {
    std::iter::once(INTERFACE_VERSION_EXPORT).chain(EXPORTS.iter().filter(|e| e.required).map(|e| e.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_enum_order_and_names_round_trip() {
        for (i, e) in EXPORTS.iter().enumerate() {
            assert_eq!(e.export as usize, i);
            assert_eq!(Export::from_name(e.name), Some(e.export));
            assert_eq!(e.export.info(), e);
        }
        assert_eq!(Export::from_name("interface_version"), None);
        assert!(required_names().any(|n| n == "client_credentials"));
        assert!(!Export::ValidateSettings.required());
    }
}
