//! What persists between launches, and where eframe keeps it.

use trainscope_engine::BackendChoice;
use trainscope_panels::PlotSettings;

/// The eframe storage key of [`Settings`].
const SETTINGS_KEY: &str = "trainscope-settings";

/// What persists between launches (window geometry is persisted by eframe itself).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The preset open last.
    pub preset: String,
    /// Backend the user chose.
    pub backend: BackendChoice,
    /// Plot appearance.
    pub plot: PlotSettings,
    /// Dark theme.
    pub dark: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            preset: "ff-mnist-quick".into(),
            backend: BackendChoice::Cpu,
            plot: PlotSettings::default(),
            dark: true,
        }
    }
}

impl Settings {
    /// The settings saved at the last launch, or the defaults when there are none (or they no
    /// longer parse).
    pub(super) fn load(storage: Option<&dyn eframe::Storage>) -> Settings {
        storage
            .and_then(|s| eframe::get_value(s, SETTINGS_KEY))
            .unwrap_or_default()
    }

    /// Saves the settings for the next launch.
    pub(super) fn save(&self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, SETTINGS_KEY, self);
    }

    /// The egui theme these settings ask for.
    pub(super) fn theme(&self) -> egui::Theme {
        if self.dark {
            egui::Theme::Dark
        } else {
            egui::Theme::Light
        }
    }
}
