//! Choice of compute backend at run time: burn's pure-Rust CPU backend (`flex`) always, and its
//! wgpu backend when the crate is built with the `gpu` feature and an adapter is found.
//!
//! flex, not ndarray: on the FF step ndarray measured about 12% faster (see the README and
//! `examples/bench_backends.rs`), but it is deprecated in burn 0.22 and removed in 0.23.

use burn::tensor::Device;

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// burn's CPU backend.
    #[default]
    Cpu,
    /// burn's wgpu backend (Vulkan, Metal, DX12), falling back to CPU when unavailable.
    Gpu,
    /// burn's older ndarray CPU backend (deprecated upstream), for benchmarks; needs the
    /// `ndarray` cargo feature, else falls back to flex.
    Ndarray,
}

impl std::str::FromStr for BackendChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "cpu" => Ok(BackendChoice::Cpu),
            "gpu" | "wgpu" => Ok(BackendChoice::Gpu),
            "ndarray" => Ok(BackendChoice::Ndarray),
            other => Err(format!("unknown backend `{other}` (use cpu or gpu)")),
        }
    }
}

/// The device a run uses, how to call it, and any fallback notice for the user.
#[derive(Debug, Clone)]
pub struct Backend {
    /// The autodiff-enabled device labs train on.
    pub device: Device,
    /// Short name shown in the UI and CLI, e.g. `cpu (flex)`.
    pub name: String,
    /// Set when the choice could not be honoured (e.g. no GPU adapter): show it to the user.
    pub notice: Option<String>,
}

impl Backend {
    /// The CPU backend.
    pub fn cpu() -> Backend {
        Backend {
            device: Device::flex().autodiff(),
            name: "cpu (burn flex)".into(),
            notice: None,
        }
    }

    /// Selects a backend, falling back to the CPU with a notice when the GPU is unavailable.
    pub fn select(choice: BackendChoice) -> Backend {
        match choice {
            BackendChoice::Cpu => Backend::cpu(),
            BackendChoice::Ndarray => match ndarray_device() {
                Some(device) => Backend {
                    device,
                    name: "cpu (burn ndarray)".into(),
                    notice: None,
                },
                None => Backend {
                    notice: Some(
                        "this build has no ndarray backend (cargo feature `ndarray`); using flex"
                            .into(),
                    ),
                    ..Backend::cpu()
                },
            },
            BackendChoice::Gpu => match gpu_device() {
                Ok((device, name)) => Backend {
                    device,
                    name,
                    notice: None,
                },
                Err(why) => Backend {
                    notice: Some(format!(
                        "GPU unavailable ({why}); running on the CPU instead"
                    )),
                    ..Backend::cpu()
                },
            },
        }
    }
}

#[cfg(feature = "ndarray")]
#[allow(deprecated)] // Deprecated upstream in favour of flex; kept to measure the two.
fn ndarray_device() -> Option<Device> {
    Some(Device::ndarray().autodiff())
}

#[cfg(not(feature = "ndarray"))]
fn ndarray_device() -> Option<Device> {
    None
}

#[cfg(feature = "gpu")]
fn gpu_device() -> Result<(Device, String), String> {
    // Adapter discovery can panic deep inside a driver; treat that like "no adapter".
    let init = std::panic::catch_unwind(|| Device::wgpu_options().init());
    match init {
        Ok(Ok(device)) => Ok((device.autodiff(), "gpu (burn wgpu)".into())),
        Ok(Err(e)) => Err(format!("{e}")),
        Err(_) => Err("the wgpu adapter search panicked".into()),
    }
}

#[cfg(not(feature = "gpu"))]
fn gpu_device() -> Result<(Device, String), String> {
    Err("this build has no GPU support; rebuild with `--features gpu`".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_choices_and_falls_back_visibly() {
        assert_eq!("CPU".parse::<BackendChoice>(), Ok(BackendChoice::Cpu));
        assert_eq!("wgpu".parse::<BackendChoice>(), Ok(BackendChoice::Gpu));
        assert!("tpu".parse::<BackendChoice>().is_err());
        let b = Backend::select(BackendChoice::Cpu);
        assert!(b.notice.is_none() && b.name.starts_with("cpu"));
        #[cfg(not(feature = "gpu"))]
        {
            let g = Backend::select(BackendChoice::Gpu);
            assert!(g.name.starts_with("cpu"));
            assert!(g.notice.is_some_and(|n| n.contains("CPU")));
        }
    }
}
