//! How much each compression level buys on a real layer, and what it costs: the deflate
//! (flate2 on zlib-rs, shipit's own backend) and zstd levels on one input file, one core, the
//! whole file in memory so that only the compressor is timed. `bench/compression-levels`
//! builds the input (a Debian root filesystem with Python) and runs this.
//!
//!     cargo run --release --example compression-levels -- LAYER.tar

use std::io::Write;
use std::time::Instant;

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: compression-levels LAYER.tar");
    let input = std::fs::read(&path).expect("the input file reads");
    let mib = input.len() as f64 / (1024.0 * 1024.0);
    println!("{path}: {mib:.0} MiB; one core; best of 3 runs each\n");
    println!("| compressor | level | size | of the input | MiB/s of input |");
    println!("|---|---|---|---|---|");
    for level in [1, 2, 4, 6, 9] {
        let (size, seconds) = best_of_3(|| {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
            encoder.write_all(&input).unwrap();
            encoder.finish().unwrap().len()
        });
        row(
            "gzip (zlib-rs)",
            level as i32,
            size,
            input.len(),
            mib / seconds,
        );
    }
    for level in [1, 3, 6, 9] {
        let (size, seconds) = best_of_3(|| zstd::bulk::compress(&input, level).unwrap().len());
        row("zstd", level, size, input.len(), mib / seconds);
    }
}

fn best_of_3(mut compress: impl FnMut() -> usize) -> (usize, f64) {
    let mut best = f64::MAX;
    let mut size = 0;
    for _ in 0..3 {
        let started = Instant::now();
        size = compress();
        best = best.min(started.elapsed().as_secs_f64());
    }
    (size, best)
}

fn row(compressor: &str, level: i32, size: usize, input: usize, speed: f64) {
    println!(
        "| {compressor} | {level} | {:.1} MiB | {:.1}% | {speed:.0} |",
        size as f64 / (1024.0 * 1024.0),
        100.0 * size as f64 / input as f64
    );
}
