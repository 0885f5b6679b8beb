//! OCI image archives without a container engine: the test bed's images (busybox, the
//! exporter) and the release's image (`.ci/release`, through the `oci-image` binary).
//!
//! An archive is an OCI image layout in a tar: one gzipped layer of a folder's files, a
//! config, a manifest and an index naming the image (`io.containerd.image.name`, which
//! `ctr images import` reads, and `org.opencontainers.image.ref.name`, which `skopeo copy
//! oci-archive:` reads). No registry and no tool beyond tar, gzip and sha256sum.
//!
//! **Reproducible.** The same folder and [`ImageConfig`] give the same bytes: files in name
//! order, owned by 0:0, every timestamp `created`, gzip
//! without a name or time, JSON with sorted keys.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use super::process::run;
use super::{Error, Result, io};

/// What an image runs, and what it says of itself.
#[derive(Clone, Debug, Default)]
pub struct ImageConfig {
    pub entrypoint: Vec<String>,
    /// `UID:GID`, or empty for root.
    pub user: String,
    pub env: Vec<String>,
    /// TCP ports, as `EXPOSE` documents them.
    pub ports: Vec<u16>,
    /// `org.opencontainers.image.*` labels and the like, in the config and the manifest.
    pub labels: Vec<(String, String)>,
    /// Seconds since the epoch: the config's `created` and every file's time.
    pub created: u64,
}

/// An archive written by [`oci_archive`].
#[derive(Clone, Debug)]
pub struct OciArchive {
    pub path: PathBuf,
    /// `sha256:…` of the image manifest: the digest a registry serves it by.
    pub digest: String,
}

/// Packs the files of `rootfs` as image `name` (`registry/repo:tag`) into
/// `WORK/<name as a slug>.oci.tar`. `work` holds the intermediate files too.
pub fn oci_archive(work: &Path, name: &str, rootfs: &Path, config: &ImageConfig) -> Result<OciArchive> {
    let slug: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let layout = work.join(format!("oci-{slug}"));
    if layout.exists() {
        fs::remove_dir_all(&layout).map_err(io(format!("removing {}", layout.display())))?;
    }
    let blobs = layout.join("blobs/sha256");
    fs::create_dir_all(&blobs).map_err(io(format!("creating {}", blobs.display())))?;
    let mtime = format!("--mtime=@{}", config.created);
    let layer_tar = work.join(format!("{slug}-layer.tar"));
    run(deterministic_tar(&mtime).arg("-cf").arg(&layer_tar).arg("-C").arg(rootfs).arg("."))?;
    let diff_id = sha256_of(&layer_tar)?;
    run(Command::new("gzip").args(["-n", "-f"]).arg(&layer_tar))?;
    let layer_gz = work.join(format!("{slug}-layer.tar.gz"));
    let layer_digest = sha256_of(&layer_gz)?;
    let layer_size = fs::metadata(&layer_gz).map_err(io("reading the layer's size"))?.len();
    fs::rename(&layer_gz, blobs.join(&layer_digest)).map_err(io("moving the layer"))?;

    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let put = |doc: &serde_json::Value| -> Result<(String, usize)> {
        let bytes = doc.to_string();
        let path = work.join(format!("{slug}-doc.json"));
        fs::write(&path, &bytes).map_err(io("writing an image document"))?;
        let digest = sha256_of(&path)?;
        fs::rename(&path, blobs.join(&digest)).map_err(io("moving an image document"))?;
        Ok((digest, bytes.len()))
    };
    let labels: serde_json::Map<String, serde_json::Value> =
        config.labels.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    let ports: serde_json::Map<String, serde_json::Value> =
        config.ports.iter().map(|p| (format!("{p}/tcp"), json!({}))).collect();
    let mut run_config = json!({"Entrypoint": config.entrypoint, "Env": config.env, "Labels": labels});
    if !config.user.is_empty() {
        run_config["User"] = json!(config.user);
    }
    if !ports.is_empty() {
        run_config["ExposedPorts"] = json!(ports);
    }
    let (config_digest, config_size) = put(&json!({
        "architecture": arch,
        "os": "linux",
        "created": rfc3339(config.created)?,
        "config": run_config,
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{diff_id}")]},
    }))?;
    let (manifest_digest, manifest_size) = put(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{config_digest}"), "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": format!("sha256:{layer_digest}"), "size": layer_size}],
        "annotations": labels,
    }))?;
    let tag = name.rsplit_once(':').filter(|(_, t)| !t.contains('/')).map_or("latest", |(_, t)| t);
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{manifest_digest}"),
            "size": manifest_size,
            "annotations": {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": tag},
            "platform": {"architecture": arch, "os": "linux"},
        }],
    });
    fs::write(layout.join("index.json"), index.to_string()).map_err(io("writing index.json"))?;
    fs::write(layout.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).map_err(io("writing oci-layout"))?;
    let archive = work.join(format!("{slug}.oci.tar"));
    run(deterministic_tar(&mtime).arg("-cf").arg(&archive).arg("-C").arg(&layout).arg("."))?;
    Ok(OciArchive { path: archive, digest: format!("sha256:{manifest_digest}") })
}

/// GNU tar writing the same bytes for the same files: name order, owner 0:0, one time for
/// every file.
fn deterministic_tar(mtime: &str) -> Command {
    let mut tar = Command::new("tar");
    tar.args(["--sort=name", "--numeric-owner", "--owner=0", "--group=0", "--format=gnu", mtime]);
    tar
}

pub(crate) fn sha256_of(path: &Path) -> Result<String> {
    let out = run(Command::new("sha256sum").arg(path))?;
    out.split_whitespace()
        .next()
        .map(str::to_string)
        .ok_or_else(|| Error::Startup(format!("sha256sum printed nothing for {}", path.display())))
}

/// `1970-01-01T00:00:00Z` for 0, as the OCI config's `created` wants it.
fn rfc3339(seconds: u64) -> Result<String> {
    i64::try_from(seconds)
        .ok()
        .and_then(|s| k8s_openapi::jiff::Timestamp::from_second(s).ok())
        .map(|t| t.to_string())
        .ok_or_else(|| Error::Startup(format!("{seconds} seconds since the epoch is no time an image can have")))
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn rfc3339_is_the_civil_date() {
        assert_eq!(rfc3339(0).expect("a time"), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400).expect("a time"), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_796_673_845).expect("a time"), "2026-12-07T20:04:05Z");
        assert!(rfc3339(u64::MAX).is_err());
    }
}
