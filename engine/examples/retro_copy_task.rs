//! The RETRO copy task at chosen sizes: `cargo run -p trainscope-engine --example
//! retro_copy_task -- "m,d,V,heads,lr,steps[,rel_scale[,copy_init[,align_init]]]" …` prints, for each, the loss with copies, with
//! random neighbours and with retrieval off (nats), against ln V.

use trainscope_engine::labs::retro::copytask::{CopySizes, copy_task};

fn main() {
    let specs: Vec<String> = std::env::args().skip(1).collect();
    if specs.is_empty() {
        eprintln!(
            "usage: retro_copy_task m,d,V,heads,lr,steps[,rel_scale[,copy_init[,align_init]]] [...]"
        );
        std::process::exit(2);
    }
    for spec in specs {
        let f: Vec<f64> = match spec.split(',').map(|x| x.trim().parse()).collect() {
            Ok(f) if (6..=9).contains(&Vec::len(&f)) => f,
            _ => {
                eprintln!(
                    "{spec}: expected m,d,V,heads,lr,steps[,rel_scale[,copy_init[,align_init]]]"
                );
                std::process::exit(2);
            }
        };
        let sizes = CopySizes {
            m: f[0] as usize,
            d: f[1] as usize,
            v: f[2] as usize,
            heads: f[3] as usize,
            lr: f[4],
            rel_scale: f.get(6).copied().unwrap_or(1.0) as f32,
            copy_init: f.get(7).copied().unwrap_or(0.0) as f32,
            align_init: f.get(8).copied().unwrap_or(0.0) as f32,
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
