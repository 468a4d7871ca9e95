//! Prints a generated Compose file: `cargo run --example generate -- 500`.
//! The benchmarks and `bench/compare.sh` use the same generator.

#[path = "../benches/support/generate.rs"]
mod generate;

fn main() {
    let services = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10);
    print!("{}", generate::compose(services));
}
