//! `describe`: who the connector is, which exports it has, and the settings of its "Create
//! connection" panel in the order a person fills them. A platform renders any connector's panel
//! from this alone.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

type Text = Cow<'static, str>;

/// How a setting is entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SettingKind {
    Text,
    /// Write-only: a platform seals it and never shows it again.
    Secret,
    /// Write-only: a PEM private key the platform keeps (sealed) and never hands the connector;
    /// the connector receives a key reference in its place and signs with it through the host's
    /// `connector_sign` (see [`crate::sign`]).
    PrivateKey,
    Select,
    Multiselect,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SettingOption {
    pub value: Text,
    pub label: Text,
}

/// One setting of the panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Setting {
    pub key: Text,
    pub label: Text,
    pub kind: SettingKind,
    pub required: bool,
    pub help: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<SettingOption>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    /// Folded under "Advanced" in the panel.
    pub advanced: bool,
    /// The export that fills the options on demand ("Fetch data").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options_from: Option<Text>,
    /// For a `private_key` setting: the key of the setting holding its certificate (PEM), which
    /// the platform checks the key against when a person saves them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<Text>,
}

/// The output of `describe`. `V` is the connector's view of the HTTP requests its settings
/// stand for and `C` what it says of the clouds it serves; a host reads both as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Description<V = serde_json::Value, C = serde_json::Value> {
    pub id: Text,
    pub name: Text,
    pub version: Text,
    pub interface_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Text>,
    #[serde(default)]
    pub exports: Vec<Text>,
    pub settings: Vec<Setting>,
    pub http_view: V,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clouds: Option<C>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs_url: Option<Text>,
}

impl<V, C> Description<V, C> {
    /// The keys of the settings a platform must seal (kinds `secret` and `private_key`).
    pub fn secret_keys(&self) -> impl Iterator<Item = &str> {
        self.settings
            .iter()
            .filter(|s| matches!(s.kind, SettingKind::Secret | SettingKind::PrivateKey))
            .map(|s| s.key.as_ref())
    }

    /// The settings that hold private keys: the platform keeps their values and passes the
    /// connector a key reference instead.
    pub fn private_keys(&self) -> impl Iterator<Item = &Setting> {
        self.settings.iter().filter(|s| s.kind == SettingKind::PrivateKey)
    }
}
