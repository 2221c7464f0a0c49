//! The RETRO copy task at chosen sizes: `cargo run -p trainscope-engine --example
//! retro_copy_task -- "m,d,V,heads,lr,steps" …` prints, for each, the loss with copies, with
//! random neighbours and with retrieval off (nats), against ln V.

use trainscope_engine::labs::retro::copytask::{CopySizes, copy_task};

fn main() {
    let specs: Vec<String> = std::env::args().skip(1).collect();
    if specs.is_empty() {
        eprintln!("usage: retro_copy_task m,d,V,heads,lr,steps [...]");
        std::process::exit(2);
    }
    for spec in specs {
        let f: Vec<f64> = match spec.split(',').map(|x| x.trim().parse()).collect() {
            Ok(f) if Vec::len(&f) == 6 => f,
            _ => {
                eprintln!("{spec}: expected six numbers m,d,V,heads,lr,steps");
                std::process::exit(2);
            }
        };
        let sizes = CopySizes {
            m: f[0] as usize,
            d: f[1] as usize,
            v: f[2] as usize,
            heads: f[3] as usize,
            lr: f[4],
        };
        let clock = std::time::Instant::now();
        match copy_task(f[5] as usize, 3, sizes) {
            Ok((copy, random, off)) => println!(
                "{spec}: copy {copy:.3} random {random:.3} off {off:.3} ln V {:.3} ({:.0} s)",
                (sizes.v as f64).ln(),
                clock.elapsed().as_secs_f64()
            ),
            Err(e) => {
                eprintln!("{spec}: {e}");
                std::process::exit(1);
            }
        }
    }
}
