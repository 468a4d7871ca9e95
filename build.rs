//! Turns the image table (`src/knowledge/images.toml`, written for people)
//! into JSON for the binary: reading TOML took most of a small file's run,
//! reading JSON takes a fraction of that. Provenance (`confidence`,
//! `sources`, `notes`) is for reviewers and stays out of the binary. The
//! tests check that the table loads with every field known and that every
//! row keeps its sources in the TOML.

use std::path::PathBuf;

fn main() {
    let source = "src/knowledge/images.toml";
    println!("cargo::rerun-if-changed={source}");
    let text = std::fs::read_to_string(source).expect("src/knowledge/images.toml is readable");
    let mut table: toml::Value =
        toml::from_str(&text).expect("src/knowledge/images.toml is valid TOML");
    if let Some(rows) = table.get_mut("image").and_then(toml::Value::as_array_mut) {
        for row in rows.iter_mut().filter_map(toml::Value::as_table_mut) {
            for provenance in ["confidence", "sources", "notes"] {
                row.remove(provenance);
            }
        }
    }
    let json = serde_json::to_string(&table).expect("TOML values convert to JSON");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("images.json"), json).expect("OUT_DIR is writable");
}
