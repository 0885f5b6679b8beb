//! oci-image: packs a folder as a reproducible OCI image archive, without a container
//! engine. `.ci/release` makes the exporter's image with it; the test bed's images come
//! from the same function (`testbed::oci_archive`).
//!
//! ```text
//! oci-image --name ghcr.io/x/y:0.1.0 --rootfs DIR --work DIR --created EPOCH \
//!   --entrypoint /usr/local/bin/y --user 65532:65532 --port 10743 --label k=v …
//! ```
//!
//! Prints the archive's path and the manifest's digest, tab-separated.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use crashloop_testbed::{ImageConfig, oci_archive};

#[derive(Parser)]
#[command(about = "Packs a folder as a reproducible OCI image archive")]
struct Args {
    /// The image's name, `registry/repository:tag`.
    #[arg(long)]
    name: String,
    /// The folder whose files are the image's one layer.
    #[arg(long)]
    rootfs: PathBuf,
    /// Where the archive and the intermediate files go.
    #[arg(long)]
    work: PathBuf,
    /// Seconds since the epoch: the image's creation time and every file's.
    #[arg(long)]
    created: u64,
    /// The entrypoint, one argument per flag.
    #[arg(long, required = true)]
    entrypoint: Vec<String>,
    /// `UID:GID` the image runs as.
    #[arg(long, default_value = "")]
    user: String,
    /// `NAME=VALUE`, repeatable.
    #[arg(long)]
    env: Vec<String>,
    /// A TCP port the image serves, repeatable.
    #[arg(long)]
    port: Vec<u16>,
    /// `KEY=VALUE`, repeatable: a label of the config and an annotation of the manifest.
    #[arg(long)]
    label: Vec<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut labels = Vec::new();
    for label in &args.label {
        let Some((key, value)) = label.split_once('=') else {
            eprintln!("oci-image: --label {label}: expected KEY=VALUE");
            return ExitCode::from(2);
        };
        labels.push((key.to_string(), value.to_string()));
    }
    let config = ImageConfig {
        entrypoint: args.entrypoint,
        user: args.user,
        env: args.env,
        ports: args.port,
        labels,
        created: args.created,
    };
    if let Err(e) = std::fs::create_dir_all(&args.work) {
        eprintln!("oci-image: creating {}: {e}", args.work.display());
        return ExitCode::FAILURE;
    }
    match oci_archive(&args.work, &args.name, &args.rootfs, &config) {
        Ok(archive) => {
            println!("{}\t{}", archive.path.display(), archive.digest);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("oci-image: {e}");
            ExitCode::FAILURE
        }
    }
}
