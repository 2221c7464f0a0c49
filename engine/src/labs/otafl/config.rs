//! Configuration of the over-the-air federated learning lab.

use serde::{Deserialize, Serialize};

use crate::error::LabError;
use crate::lab::{LabConfig, Range};
use crate::wireless::cellfree::RadioConfig;

/// How the training digits are spread over the clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DataSplit {
    /// Every client a uniform random share.
    Iid,
    /// Label-sorted shards, `shards_per_client` per client (McMahan et al.'s rule).
    #[default]
    NonIid,
}

/// Which model the clients train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Multinomial logistic regression (7,850 parameters).
    Logreg,
    /// 784-`hidden`-10 ReLU network (25,450 parameters at 32 hidden units).
    #[default]
    Mlp,
}

/// The lab's configuration; every field has a default so presets list only what they change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OtaflConfig {
    /// Seed of the drop, the fading, the data split, the initial weights and all noise.
    pub seed: u64,
    /// Cell-free access points `L`.
    pub aps: usize,
    /// Antennas per AP `N` (the cellular BS has `L·N`).
    pub antennas: usize,
    /// Clients `K` (each holds a share of the training digits).
    pub clients: usize,
    /// Side of the square area, metres.
    pub side_m: f64,
    /// Antenna height of the APs and the BS, metres.
    pub ap_height_m: f64,
    /// Shadowing standard deviation, dB.
    pub shadowing_db: f64,
    /// Angular spread of the local-scattering correlation model, degrees.
    pub asd_deg: f64,
    /// Bandwidth, MHz (sets the noise power).
    pub bandwidth_mhz: f64,
    /// Receiver noise figure, dB.
    pub noise_figure_db: f64,
    /// Orthogonal pilots `τ_p` (client k uses pilot k mod τ_p: contamination when K > τ_p).
    pub pilots: usize,
    /// Every client's transmit power budget for data and pilots, dBm.
    pub client_power_dbm: f64,
    /// Silence rule: a client whose full-power received amplitude is more than this far
    /// below the median stays silent that round, dB.
    pub trunc_db: f64,
    /// Clients taking part in each round (a random subset, the same for every scheme; capped
    /// at `clients`).
    pub participants: usize,
    /// IID or non-IID client data.
    pub split: DataSplit,
    /// Label shards per client for the non-IID split.
    pub shards_per_client: usize,
    /// Logistic regression or MLP.
    pub model: ModelKind,
    /// Hidden units of the MLP.
    pub hidden: usize,
    /// Clients' SGD step size.
    pub lr: f64,
    /// Local SGD steps per round (1 = FedSGD; more = FedAvg with E steps).
    pub local_steps: usize,
    /// Minibatch per local step.
    pub batch_size: usize,
    /// Communication rounds.
    pub rounds: usize,
    /// Test accuracy of every scheme every this many rounds.
    pub eval_every: usize,
    /// Test digits used by the evaluations during the run (the first ones of the test split).
    pub eval_test: usize,
    /// Test digits of the final evaluation (10,000 = the whole test split).
    pub test_limit: usize,
    /// Training digits shared out to the clients (of 60,000).
    pub train_limit: usize,
    /// Channel realisations per point of the MSE-vs-power sweep.
    pub sweep_reps: usize,
    /// Entries of the synthetic unit-variance updates in the sweep.
    pub sweep_dim: usize,
    /// Small-scale fading samples behind the LSFD weights.
    pub lsfd_samples: usize,
    /// Alternations of combiner and transmit coefficients per round.
    pub design_iters: usize,
    /// MNIST folder ("" = the shipped copy).
    pub data_dir: String,
}

impl Default for OtaflConfig {
    fn default() -> Self {
        OtaflConfig {
            seed: 0,
            aps: 16,
            antennas: 4,
            clients: 20,
            side_m: 400.0,
            ap_height_m: 10.0,
            shadowing_db: 4.0,
            asd_deg: 10.0,
            bandwidth_mhz: 20.0,
            noise_figure_db: 7.0,
            pilots: 10,
            client_power_dbm: 10.0,
            trunc_db: 10.0,
            participants: 20,
            split: DataSplit::NonIid,
            shards_per_client: 2,
            model: ModelKind::Mlp,
            hidden: 32,
            lr: 0.1,
            local_steps: 1,
            batch_size: 32,
            rounds: 200,
            eval_every: 10,
            eval_test: 2000,
            test_limit: 10_000,
            train_limit: 60_000,
            sweep_reps: 30,
            sweep_dim: 1000,
            lsfd_samples: 32,
            design_iters: 2,
            data_dir: String::new(),
        }
    }
}

impl OtaflConfig {
    /// The radio part of the config.
    pub fn radio(&self) -> RadioConfig {
        RadioConfig {
            aps: self.aps,
            antennas: self.antennas,
            clients: self.clients,
            side_m: self.side_m,
            ap_height_m: self.ap_height_m,
            shadowing_db: self.shadowing_db,
            asd_deg: self.asd_deg,
            bandwidth_hz: self.bandwidth_mhz * 1e6,
            noise_figure_db: self.noise_figure_db,
        }
    }
}

impl LabConfig for OtaflConfig {
    const RANGES: &'static [Range] = &[
        Range::int("aps", 1, 256),
        Range::int("antennas", 1, 16),
        Range::int("clients", 2, 100),
        Range::float("side_m", 10.0, 10_000.0, true),
        Range::float("ap_height_m", 0.0, 100.0, false),
        Range::float("shadowing_db", 0.0, 20.0, false),
        Range::float("asd_deg", 0.0, 60.0, false),
        Range::float("bandwidth_mhz", 0.1, 400.0, true),
        Range::float("noise_figure_db", 0.0, 20.0, false),
        Range::int("pilots", 1, 100),
        Range::float("client_power_dbm", -20.0, 30.0, false),
        Range::float("trunc_db", 0.0, 100.0, false),
        Range::int("participants", 1, 100),
        Range::choice("split", &["iid", "non_iid"]),
        Range::int("shards_per_client", 1, 10),
        Range::choice("model", &["logreg", "mlp"]),
        Range::int("hidden", 1, 512),
        Range::float("lr", 1e-4, 2.0, true),
        Range::int("local_steps", 1, 20),
        Range::int("batch_size", 1, 1000),
        Range::int("rounds", 1, 100_000),
        Range::int("eval_every", 1, 100_000),
        Range::int("eval_test", 10, 10_000),
        Range::int("test_limit", 10, 10_000),
        Range::int("train_limit", 100, 60_000),
        Range::int("sweep_reps", 1, 10_000),
        Range::int("sweep_dim", 10, 100_000),
        Range::int("lsfd_samples", 1, 10_000),
        Range::int("design_iters", 1, 10),
    ];

    fn check(&self) -> Result<(), LabError> {
        let need = self.clients * self.shards_per_client.max(1) * 10;
        if self.train_limit < need {
            return Err(LabError::config(
                "train_limit",
                format!("needs at least {need} digits for this many clients and shards"),
            ));
        }
        Ok(())
    }
}
