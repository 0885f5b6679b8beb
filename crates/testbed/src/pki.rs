//! Certificates made with `openssl`: the cluster's (a CA per trust boundary, etcd's clients
//! and a kubelet's clients, and what each issues, in the cluster's private directory), and
//! those a test makes for the exporter's own TLS.
//!
//! Files are named after what they hold: [`pem`]`(NAME)` and [`key`]`(NAME)` for a
//! certificate and its key, for a CA and for what it issues alike.

use std::path::Path;
use std::process::Command;

use super::{Error, Result, io};

/// ECDSA P-256 keys, unencrypted (only the owner can read the directory).
const EC_KEY: [&str; 5] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/// The file of certificate `name`.
pub fn pem(name: &str) -> String {
    format!("{name}.pem")
}

/// The file of certificate `name`'s private key.
pub fn key(name: &str) -> String {
    format!("{name}.key")
}

/// Makes the self-signed CA `name` in `dir`, unless it is there, with the X.509 v3
/// `extensions` added to openssl's defaults for a CA (e.g.
/// `keyUsage=critical,keyCertSign,cRLSign`).
pub fn ca(dir: &Path, name: &str, subject: &str, extensions: &[&str]) -> Result<()> {
    let (key, pem) = (key(name), pem(name));
    if dir.join(&pem).exists() {
        return Ok(());
    }
    #[rustfmt::skip]
    let mut args = [&["req", "-x509"][..], &EC_KEY, &["-keyout", &key, "-out", &pem, "-days", "3650", "-subj", subject]].concat();
    args.extend(extensions.iter().flat_map(|e| ["-addext", e]));
    openssl(dir, &args)
}

/// Issues certificate `name` from CA `ca` in `dir`, unless it is there, with exactly the
/// X.509 v3 `extensions` (e.g. `extendedKeyUsage = clientAuth`).
pub fn issue(dir: &Path, ca: &str, name: &str, subject: &str, extensions: &[&str]) -> Result<()> {
    let (key, csr, ext, pem) = (key(name), format!("{name}.csr"), format!("{name}.ext"), pem(name));
    if dir.join(&pem).exists() {
        return Ok(());
    }
    std::fs::write(dir.join(&ext), extensions.join("\n") + "\n").map_err(io(format!("writing {ext}")))?;
    openssl(dir, &[&["req"][..], &EC_KEY, &["-keyout", &key, "-out", &csr, "-subj", subject]].concat())?;
    let (ca_pem, ca_key) = (self::pem(ca), self::key(ca));
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
