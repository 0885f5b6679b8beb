//! The test bed's certificates, made with `openssl`: a CA per trust boundary (etcd's
//! clients, a kubelet's clients) and the certificates it issues, each file in the cluster's
//! private directory.
//!
//! Files are named after what they hold: `NAME.pem` and `NAME.key` for a certificate and its
//! key, for a CA and for what it issues alike.

use std::path::Path;
use std::process::Command;

use super::{Error, Result, io};

/// ECDSA P-256 keys, unencrypted (only the owner can read the directory).
const EC_KEY: [&str; 5] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/// Makes the self-signed CA `name` (`name.pem`, `name.key`) in `dir`, unless it is there.
pub(crate) fn ca(dir: &Path, name: &str, subject: &str) -> Result<()> {
    if dir.join(format!("{name}.pem")).exists() {
        return Ok(());
    }
    let (key, pem) = (format!("{name}.key"), format!("{name}.pem"));
    #[rustfmt::skip]
    let args = [&["req", "-x509"][..], &EC_KEY, &["-keyout", &key, "-out", &pem, "-days", "3650", "-subj", subject]];
    openssl(dir, &args.concat())
}

/// Issues certificate `name` (`name.pem`, `name.key`) from CA `ca` in `dir`, unless it is
/// there, with the X.509 v3 `extensions` given one per line (e.g.
/// `extendedKeyUsage = clientAuth`).
pub(crate) fn issue(dir: &Path, ca: &str, name: &str, subject: &str, extensions: &[&str]) -> Result<()> {
    if dir.join(format!("{name}.pem")).exists() {
        return Ok(());
    }
    let (key, csr, ext, pem) =
        (format!("{name}.key"), format!("{name}.csr"), format!("{name}.ext"), format!("{name}.pem"));
    std::fs::write(dir.join(&ext), extensions.join("\n") + "\n").map_err(io(format!("writing {ext}")))?;
    openssl(dir, &[&["req"][..], &EC_KEY, &["-keyout", &key, "-out", &csr, "-subj", subject]].concat())?;
    let (ca_pem, ca_key) = (format!("{ca}.pem"), format!("{ca}.key"));
    #[rustfmt::skip]
    let sign = [
        "x509", "-req", "-in", &csr, "-CA", &ca_pem, "-CAkey", &ca_key, "-CAcreateserial",
        "-days", "3650", "-extfile", &ext, "-out", &pem,
    ];
    openssl(dir, &sign)
}

/// Makes the RSA key `file` in `dir` (the service-account signing key), unless it is there.
pub(crate) fn rsa_key(dir: &Path, file: &str) -> Result<()> {
    if dir.join(file).exists() {
        return Ok(());
    }
    openssl(dir, &["genrsa", "-out", file, "2048"])
}

/// Runs `openssl args` in `dir`.
fn openssl(dir: &Path, args: &[&str]) -> Result<()> {
    let out = Command::new("openssl").args(args).current_dir(dir).output().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::MissingBinary { name: "openssl", looked_in: "PATH".into() },
        _ => io("running openssl")(e),
    })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(Error::Startup(format!("openssl {} failed: {err}", args.join(" "))));
    }
    Ok(())
}
