//! The web config file (`--web.config.file`) in the format of Prometheus' exporter-toolkit:
//! TLS with optional client certificates, basic auth with bcrypt hashes, and extra response
//! headers. It is read and checked once at start; the certificate files are read again when
//! they change (a rotated certificate is picked up by the next handshake).
//!
//! A key the toolkit knows but this exporter does not support is an error that says so, never
//! silently ignored.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use base64::Engine;
use hyper::header::{HeaderName, HeaderValue};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::sync::lock_unpoisoned;

/// What the web config file asks for; the default is plain HTTP without auth.
#[derive(Default)]
pub struct WebConfig {
    /// TLS, when `tls_server_config` names a certificate.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Basic auth, when `basic_auth_users` is not empty.
    pub users: Option<BasicAuth>,
    /// Added to every response.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    tls_server_config: Option<TlsFile>,
    http_server_config: Option<HttpFile>,
    basic_auth_users: Option<BTreeMap<String, String>>,
    rate_limit: Option<IgnoredAny>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    cert: Option<String>,
    key: Option<String>,
    client_ca: Option<String>,
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    client_auth_type: Option<String>,
    client_ca_file: Option<PathBuf>,
    client_allowed_sans: Option<IgnoredAny>,
    min_version: Option<String>,
    max_version: Option<String>,
    cipher_suites: Option<Vec<String>>,
    prefer_server_cipher_suites: Option<bool>,
    curve_preferences: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct HttpFile {
    http2: Option<bool>,
    headers: Option<BTreeMap<String, String>>,
}

/// Reads and checks the file at `path`; relative paths inside it are relative to its directory.
pub fn load(path: &Path) -> Result<WebConfig, crate::Error> {
    let fail = |what: String| crate::Error::Usage(format!("web config {}: {what}", path.display()));
    let text =
        std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read it: {e}\n  check --web.config.file")))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    parse(&text, dir).map_err(fail)
}

/// Parses and checks the text of a web config file; `dir` anchors relative paths.
pub(crate) fn parse(text: &str, dir: &Path) -> Result<WebConfig, String> {
    // An empty file is a valid, empty config.
    let file: File = if text.trim().is_empty() {
        File { tls_server_config: None, http_server_config: None, basic_auth_users: None, rate_limit: None }
    } else {
        serde_saphyr::from_str(text).map_err(|e| yaml_error(&e))?
    };
    if file.rate_limit.is_some() {
        return Err(
            "rate_limit is not supported by crashloop-exporter\n  remove it; --web.max-connections bounds the load"
                .into(),
        );
    }
    let tls = tls(file.tls_server_config.unwrap_or_default(), dir)?;
    let http = file.http_server_config.unwrap_or_default();
    if http.http2 == Some(true) {
        tracing::info!("http_server_config.http2: the exporter serves HTTP/1.1 only; clients fall back to it");
    }
    let headers = headers(http.headers.unwrap_or_default())?;
    let users = file.basic_auth_users.filter(|u| !u.is_empty()).map(BasicAuth::new).transpose()?;
    Ok(WebConfig { tls, users, headers })
}

/// The response headers the toolkit allows, with the values it accepts (None: any).
const HEADERS: &[(&str, Option<&[&str]>)] = &[
    ("Strict-Transport-Security", None),
    ("X-Content-Type-Options", Some(&["nosniff"])),
    ("X-Frame-Options", Some(&["deny", "sameorigin"])),
    ("X-XSS-Protection", None),
    ("Content-Security-Policy", None),
];

fn headers(wanted: BTreeMap<String, String>) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    let mut out = Vec::new();
    for (name, value) in wanted {
        let Some((_, allowed)) = HEADERS.iter().find(|(known, _)| *known == name) else {
            let known: Vec<&str> = HEADERS.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "http_server_config.headers: {name:?} is not supported\n  use one of {}",
                known.join(", ")
            ));
        };
        if value.is_empty() {
            continue;
        }
        if let Some(allowed) = allowed
            && !allowed.iter().any(|a| a.eq_ignore_ascii_case(&value))
        {
            return Err(format!(
                "http_server_config.headers.{name}: {value:?} is not allowed\n  use one of {}",
                allowed.join(", ")
            ));
        }
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| format!("header {name}: {e}"))?;
        let value = HeaderValue::from_str(&value).map_err(|e| format!("header {name}: {value:?}: {e}"))?;
        out.push((name, value));
    }
    Ok(out)
}

/// What went wrong in the file and where, without its text: the parser's own message quotes
/// the lines around the error and the value it rejected, which may be an inline private
/// key or a password's hash, and this message goes to the pod's log.
fn yaml_error(e: &serde_saphyr::Error) -> String {
    let message = e.without_snippet().to_string();
    // serde quotes a rejected value in double quotes; field names stay (in backticks).
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    for c in message.chars() {
        match (c, quoted) {
            ('"', false) => {
                quoted = true;
                out.push_str("\"…");
            }
            ('"', true) => {
                quoted = false;
                out.push('"');
            }
            (_, false) => out.push(c),
            (_, true) => {}
        }
    }
    if quoted {
        out.push('"');
    }
    format!("not a valid web config: {out}")
}

/// Where a PEM comes from: a file (read again when it changes) or the config itself.
#[derive(Clone)]
enum Pem {
    File(PathBuf),
    Inline(String),
}

/// An inline PEM may be a private key: its bytes are never shown.
impl std::fmt::Debug for Pem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pem::File(path) => f.debug_tuple("File").field(path).finish(),
            Pem::Inline(text) => write!(f, "Inline(<{} bytes, not shown>)", text.len()),
        }
    }
}

impl Pem {
    fn pick(field: &str, inline: Option<String>, file: Option<PathBuf>, dir: &Path) -> Result<Option<Pem>, String> {
        match (inline, file) {
            (Some(_), Some(_)) => Err(format!("tls_server_config: both {field} and {field}_file are set\n  keep one")),
            (Some(text), None) => Ok(Some(Pem::Inline(text))),
            (None, Some(path)) => Ok(Some(Pem::File(dir.join(path)))),
            (None, None) => Ok(None),
        }
    }

    fn bytes(&self, field: &str) -> Result<Vec<u8>, String> {
        match self {
            Pem::File(path) => std::fs::read(path).map_err(|e| format!("{field}_file {}: {e}", path.display())),
            Pem::Inline(text) => Ok(text.clone().into_bytes()),
        }
    }

    fn modified(&self) -> Option<SystemTime> {
        match self {
            Pem::File(path) => std::fs::metadata(path).and_then(|m| m.modified()).ok(),
            Pem::Inline(_) => None,
        }
    }
}

fn certificates(pem: &Pem, field: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = pem.bytes(field)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{field}: not a PEM certificate: {e}"))?;
    if certs.is_empty() {
        return Err(format!("{field}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it"));
    }
    Ok(certs)
}

fn certified_key(cert: &Pem, key: &Pem, provider: &CryptoProvider) -> Result<CertifiedKey, String> {
    let chain = certificates(cert, "cert")?;
    let key = PrivateKeyDer::from_pem_slice(&key.bytes("key")?)
        .map_err(|e| format!("key: no PEM private key (PKCS#8, PKCS#1 or SEC1) in it: {e}"))?;
    CertifiedKey::from_der(chain, key, provider).map_err(|e| format!("cert and key do not make a usable pair: {e}"))
}

fn tls(file: TlsFile, dir: &Path) -> Result<Option<Arc<rustls::ServerConfig>>, String> {
    if file.client_allowed_sans.is_some() {
        return Err("tls_server_config.client_allowed_sans is not supported by crashloop-exporter\n  \
                    remove it; client_auth_type: RequireAndVerifyClientCert with a client_ca_file admits only certificates of that CA"
            .into());
    }
    let cert = Pem::pick("cert", file.cert, file.cert_file, dir)?;
    let key = Pem::pick("key", file.key, file.key_file, dir)?;
    let client_ca = Pem::pick("client_ca", file.client_ca, file.client_ca_file, dir)?;
    let enabled = cert.is_some() || key.is_some() || client_ca.is_some() || file.client_auth_type.is_some();
    if !enabled {
        let unused = [
            ("min_version", file.min_version.is_some()),
            ("max_version", file.max_version.is_some()),
            ("cipher_suites", file.cipher_suites.is_some()),
            ("curve_preferences", file.curve_preferences.is_some()),
        ];
        if let Some((name, _)) = unused.iter().find(|(_, set)| *set) {
            return Err(format!("tls_server_config.{name} is set but TLS is not\n  add cert_file and key_file"));
        }
        return Ok(None);
    }
    let (Some(cert), Some(key)) = (cert, key) else {
        return Err(
            "tls_server_config needs a certificate and its key\n  set cert_file and key_file (or cert and key)".into(),
        );
    };

    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(names) = &file.cipher_suites {
        provider.cipher_suites = cipher_suites(&provider.cipher_suites, names)?;
    }
    if let Some(names) = &file.curve_preferences {
        provider.kx_groups = names.iter().map(|n| curve(n)).collect::<Result<_, _>>()?;
    }
    let provider = Arc::new(provider);

    let min = version(file.min_version.as_deref().unwrap_or("TLS12"), "min_version")?;
    let max = version(file.max_version.as_deref().unwrap_or("TLS13"), "max_version")?;
    if min > max {
        return Err("tls_server_config: min_version is above max_version".into());
    }
    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        [(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)]
            .into_iter()
            .filter(|(v, _)| (min..=max).contains(v))
            .map(|(_, v)| v)
            .collect();

    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("tls_server_config: {e}\n  check cipher_suites against min_version/max_version"))?;
    let builder = match client_verifier(file.client_auth_type.as_deref(), client_ca.as_ref(), &provider)? {
        Some(verifier) => builder.with_client_cert_verifier(verifier),
        None => builder.with_no_client_auth(),
    };
    let resolver = ReloadingCert::new(cert, key, provider)?;
    let mut config = builder.with_cert_resolver(Arc::new(resolver));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.ignore_client_order = file.prefer_server_cipher_suites.unwrap_or(true);
    Ok(Some(Arc::new(config)))
}

fn version(name: &str, field: &str) -> Result<u8, String> {
    match name {
        "TLS12" => Ok(12),
        "TLS13" => Ok(13),
        "TLS10" | "TLS11" => {
            Err(format!("tls_server_config.{field}: {name} is not supported (only TLS 1.2 and 1.3 are)\n  use TLS12"))
        }
        _ => Err(format!("tls_server_config.{field}: unknown version {name:?}\n  use TLS12 or TLS13")),
    }
}

/// The TLS 1.2 suites named (Go's names, which are IANA's), in that order, and every TLS 1.3
/// suite: as in Go, `cipher_suites` does not apply to TLS 1.3.
fn cipher_suites(
    available: &[rustls::SupportedCipherSuite],
    names: &[String],
) -> Result<Vec<rustls::SupportedCipherSuite>, String> {
    let tls13: Vec<_> = available.iter().filter(|s| s.version() == &rustls::version::TLS13).copied().collect();
    let mut out = Vec::new();
    for name in names {
        let tls13_name = name.strip_prefix("TLS_").map(|rest| format!("TLS13_{rest}"));
        if tls13.iter().any(|s| s.suite().as_str() == tls13_name.as_deref()) {
            continue;
        }
        match available.iter().find(|s| s.suite().as_str() == Some(name.as_str())) {
            Some(suite) => out.push(*suite),
            None => {
                let names: Vec<&str> = available
                    .iter()
                    .filter(|s| s.version() == &rustls::version::TLS12)
                    .filter_map(|s| s.suite().as_str())
                    .collect();
                return Err(format!(
                    "tls_server_config.cipher_suites: {name:?} is not supported\n  use some of {}",
                    names.join(", ")
                ));
            }
        }
    }
    out.extend(tls13);
    Ok(out)
}

fn curve(name: &str) -> Result<&'static dyn rustls::crypto::SupportedKxGroup, String> {
    use rustls::crypto::ring::kx_group;
    match name {
        "X25519" => Ok(kx_group::X25519),
        "CurveP256" => Ok(kx_group::SECP256R1),
        "CurveP384" => Ok(kx_group::SECP384R1),
        _ => Err(format!(
            "tls_server_config.curve_preferences: {name:?} is not supported\n  use some of X25519, CurveP256, CurveP384"
        )),
    }
}

fn client_verifier(
    auth_type: Option<&str>,
    client_ca: Option<&Pem>,
    provider: &Arc<CryptoProvider>,
) -> Result<Option<Arc<dyn rustls::server::danger::ClientCertVerifier>>, String> {
    let optional = match auth_type.unwrap_or("NoClientCert") {
        "" | "NoClientCert" => {
            if client_ca.is_some() {
                return Err("tls_server_config: client_ca_file is set but client_auth_type does not ask for client certificates\n  \
                            set client_auth_type: RequireAndVerifyClientCert"
                    .into());
            }
            return Ok(None);
        }
        "RequireAndVerifyClientCert" => false,
        "VerifyClientCertIfGiven" => true,
        unverified @ ("RequestClientCert" | "RequireAnyClientCert" | "RequireClientCert") => {
            return Err(format!(
                "tls_server_config.client_auth_type: {unverified} accepts certificates without verifying them and is not supported\n  \
                 use RequireAndVerifyClientCert (or VerifyClientCertIfGiven) with client_ca_file"
            ));
        }
        other => {
            return Err(format!(
                "tls_server_config.client_auth_type: unknown value {other:?}\n  \
                 use NoClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert"
            ));
        }
    };
    let Some(ca) = client_ca else {
        return Err(
            "tls_server_config: client_auth_type verifies client certificates but no CA is given\n  set client_ca_file"
                .into(),
        );
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in certificates(ca, "client_ca")? {
        roots.add(cert).map_err(|e| format!("client_ca: {e}"))?;
    }
    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    let builder = if optional { builder.allow_unauthenticated() } else { builder };
    builder.build().map(Some).map_err(|e| format!("client_ca: {e}"))
}

/// The server certificate, read again at a handshake when its files changed since the last
/// read. A rotation that fails to load keeps the previous pair and logs why.
#[derive(Debug)]
struct ReloadingCert {
    cert: Pem,
    key: Pem,
    provider: Arc<CryptoProvider>,
    current: Mutex<(Option<SystemTime>, Option<SystemTime>, Arc<CertifiedKey>)>,
}

impl ReloadingCert {
    fn new(cert: Pem, key: Pem, provider: Arc<CryptoProvider>) -> Result<ReloadingCert, String> {
        let stamps = (cert.modified(), key.modified());
        let loaded = Arc::new(certified_key(&cert, &key, &provider)?);
        Ok(ReloadingCert { cert, key, provider, current: Mutex::new((stamps.0, stamps.1, loaded)) })
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let stamps = (self.cert.modified(), self.key.modified());
        let mut current = lock_unpoisoned(&self.current);
        if (current.0, current.1) != stamps {
            match certified_key(&self.cert, &self.key, &self.provider) {
                Ok(loaded) => {
                    tracing::info!("web config: loaded the changed TLS certificate");
                    *current = (stamps.0, stamps.1, Arc::new(loaded));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "web config: the changed TLS certificate does not load; still serving the previous one");
                    current.0 = stamps.0;
                    current.1 = stamps.1;
                }
            }
        }
        Some(current.2.clone())
    }
}

/// Basic auth against bcrypt hashes, which no number of failing clients can turn into a
/// lockout:
/// - a successful check is remembered as an HMAC of the password under a key made at start,
///   so a scraper that authenticated once never waits for bcrypt again (constant-time
///   comparison);
/// - a failed one is remembered too (the last [`REMEMBERED_FAILURES`] pairs), so a client
///   repeating a wrong password is answered at once;
/// - bcrypt runs [`BCRYPT_AT_ONCE`] at a time with at most [`BCRYPT_QUEUE`] checks waiting;
///   beyond that a check is [`Check::Busy`] at once (503), never queued without bound;
/// - the HTTP server does not count a request waiting here as busy, so such a connection
///   can be closed to admit a new one.
pub struct BasicAuth {
    users: BTreeMap<String, String>,
    /// Checked against for unknown users: of the highest cost among the users, so that no
    /// user name answers faster than an unknown one.
    decoy: String,
    remember: ring::hmac::Key,
    verified: Mutex<HashMap<String, ring::hmac::Tag>>,
    failed: Mutex<Failures>,
    bcrypt_slots: Arc<tokio::sync::Semaphore>,
    waiting: std::sync::atomic::AtomicUsize,
}

/// bcrypt checks that run at once (it is slow by design: ~50 ms at cost 10).
const BCRYPT_AT_ONCE: usize = 1;
/// bcrypt checks that may wait for a slot; more are refused at once.
pub(crate) const BCRYPT_QUEUE: usize = 4;
/// Wrong (user, password) pairs remembered, answered without bcrypt.
const REMEMBERED_FAILURES: usize = 1024;

/// The HMACs of the latest wrong pairs, in the order they came.
#[derive(Default)]
struct Failures {
    set: std::collections::HashSet<Vec<u8>>,
    order: std::collections::VecDeque<Vec<u8>>,
}

/// A place in the line for bcrypt, left when dropped.
struct InLine<'a> {
    count: &'a std::sync::atomic::AtomicUsize,
    /// How many were in line before this one.
    ahead: usize,
}

impl<'a> InLine<'a> {
    fn join(count: &'a std::sync::atomic::AtomicUsize) -> InLine<'a> {
        InLine { count, ahead: count.fetch_add(1, std::sync::atomic::Ordering::AcqRel) }
    }
}

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.count.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// The users whose password is the example web config's (docs/web-config.example.yml),
/// which anyone can read. One bcrypt each, once, at start.
fn users_of_the_example(users: &BTreeMap<String, String>) -> Vec<&str> {
    const EXAMPLE_PASSWORD: &str = "changeme";
    users
        .iter()
        .filter(|(_, hash)| bcrypt::verify(EXAMPLE_PASSWORD, hash).unwrap_or(false))
        .map(|(u, _)| u.as_str())
        .collect()
}

/// The answer to a request's credentials.
#[derive(Debug, PartialEq, Eq)]
pub enum Check {
    Allowed,
    Denied,
    /// Too many checks are waiting for bcrypt: try again (503).
    Busy,
}

impl BasicAuth {
    fn new(users: BTreeMap<String, String>) -> Result<BasicAuth, String> {
        // bcrypt's lowest cost: the users' highest replaces it.
        let mut cost = 4;
        for (user, hash) in &users {
            let parts: bcrypt::HashParts = hash.parse().map_err(|e| {
                format!("basic_auth_users.{user}: not a bcrypt hash ({e})\n  make one with: htpasswd -nBC 10 \"\" | tr -d ':\\n'")
            })?;
            cost = cost.max(parts.get_cost());
        }
        for user in users_of_the_example(&users) {
            tracing::warn!(
                user,
                "basic_auth_users: this user's password is the example's (changeme), which anyone can read: set a hash of your own"
            );
        }
        let decoy = bcrypt::hash("crashloop-exporter decoy", cost).map_err(|e| format!("basic_auth_users: {e}"))?;
        let remember = ring::hmac::Key::generate(ring::hmac::HMAC_SHA256, &ring::rand::SystemRandom::new())
            .map_err(|_| "basic_auth_users: no system randomness for the credential cache".to_string())?;
        Ok(BasicAuth {
            users,
            decoy,
            remember,
            verified: Mutex::default(),
            failed: Mutex::default(),
            bcrypt_slots: Arc::new(tokio::sync::Semaphore::new(BCRYPT_AT_ONCE)),
            waiting: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// Whether an `Authorization` header value names a user with the right password.
    pub async fn check(&self, authorization: Option<&HeaderValue>) -> Check {
        let Some((user, password)) = authorization.and_then(credentials) else {
            return Check::Denied;
        };
        let known = self.users.get(&user);
        if known.is_some() {
            let verified = lock_unpoisoned(&self.verified);
            if let Some(tag) = verified.get(&user)
                && ring::hmac::verify(&self.remember, password.as_bytes(), tag.as_ref()).is_ok()
            {
                return Check::Allowed;
            }
        }
        // The pair, unambiguous (a user name holds no ':'), for the memory of failures.
        let pair = ring::hmac::sign(&self.remember, format!("{user}:{password}").as_bytes()).as_ref().to_vec();
        if lock_unpoisoned(&self.failed).set.contains(&pair) {
            return Check::Denied;
        }
        // Counted while waiting or running, until this future ends or is dropped (the
        // connection closed under it).
        let in_line = InLine::join(&self.waiting);
        if in_line.ahead >= BCRYPT_QUEUE + BCRYPT_AT_ONCE {
            return Check::Busy;
        }
        let hash = known.cloned().unwrap_or_else(|| self.decoy.clone());
        let password_copy = password.clone();
        // The slot goes with the bcrypt run, not with this future: a check dropped while
        // bcrypt runs (its connection closed) holds the slot until the run ends, so at most
        // BCRYPT_AT_ONCE runs ever take CPU.
        let matches = match self.bcrypt_slots.clone().acquire_owned().await {
            Ok(slot) => tokio::task::spawn_blocking(move || {
                let matches = bcrypt::verify(password_copy, &hash).unwrap_or(false);
                drop(slot);
                matches
            })
            .await
            .unwrap_or(false),
            Err(_) => false,
        };
        drop(in_line);
        if matches && known.is_some() {
            let tag = ring::hmac::sign(&self.remember, password.as_bytes());
            lock_unpoisoned(&self.verified).insert(user, tag);
            return Check::Allowed;
        }
        let mut failed = lock_unpoisoned(&self.failed);
        if failed.set.insert(pair.clone()) {
            failed.order.push_back(pair);
            if failed.order.len() > REMEMBERED_FAILURES
                && let Some(oldest) = failed.order.pop_front()
            {
                failed.set.remove(&oldest);
            }
        }
        Check::Denied
    }
}

/// `Basic base64(user:password)` → (user, password).
fn credentials(header: &HeaderValue) -> Option<(String, String)> {
    let value = header.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        match parse(text, Path::new("/nonexistent")) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => e,
        }
    }

    #[test]
    fn empty_and_plain_configs() {
        let c = parse("", Path::new(".")).expect("empty");
        assert!(c.tls.is_none() && c.users.is_none() && c.headers.is_empty());
        let c = parse("tls_server_config: {}\nhttp_server_config:\n  http2: false\n", Path::new(".")).expect("no TLS");
        assert!(c.tls.is_none());
    }

    #[test]
    fn unknown_and_unsupported_keys_are_errors() {
        assert!(
            err("tls_config:\n  cert_file: a\n").contains("tls_config"),
            "{}",
            err("tls_config:\n  cert_file: a\n")
        );
        assert!(err("tls_server_config:\n  certfile: a\n").contains("certfile"));
        assert!(err("rate_limit:\n  interval: 1s\n  burst: 5\n").contains("rate_limit is not supported"));
        assert!(
            err("tls_server_config:\n  client_allowed_sans: [a]\n").contains("client_allowed_sans is not supported")
        );
        assert!(err("http_server_config:\n  headers:\n    X-Powered-By: me\n").contains("X-Powered-By"));
        assert!(err("http_server_config:\n  headers:\n    X-Frame-Options: allow\n").contains("deny, sameorigin"));
    }

    #[test]
    fn tls_settings_are_checked() {
        assert!(err("tls_server_config:\n  cert_file: c.pem\n").contains("needs a certificate and its key"));
        assert!(err("tls_server_config:\n  min_version: TLS13\n").contains("TLS is not"));
        assert!(
            err("tls_server_config:\n  cert_file: c.pem\n  cert: x\n  key_file: k\n")
                .contains("both cert and cert_file")
        );
        assert!(err("tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n").contains("/nonexistent/c.pem"));
        assert_eq!(version("TLS11", "min_version").map_err(|e| e.contains("not supported")), Err(true));
        let suites = rustls::crypto::ring::default_provider().cipher_suites;
        let picked =
            cipher_suites(&suites, &["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".into(), "TLS_AES_128_GCM_SHA256".into()])
                .expect("known suites");
        assert_eq!(picked[0].suite().as_str(), Some("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"));
        assert!(picked[1..].iter().all(|s| s.version() == &rustls::version::TLS13));
        assert!(cipher_suites(&suites, &["TLS_RSA_WITH_RC4_128_SHA".into()]).is_err());
        assert!(curve("CurveP521").is_err());
    }

    #[test]
    fn client_auth_types() {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let ca = Pem::Inline(String::new());
        assert!(client_verifier(Some("NoClientCert"), None, &provider).expect("none").is_none());
        assert!(client_verifier(None, Some(&ca), &provider).is_err_and(|e| e.contains("RequireAndVerifyClientCert")));
        assert!(
            client_verifier(Some("RequireAnyClientCert"), Some(&ca), &provider)
                .is_err_and(|e| e.contains("without verifying"))
        );
        assert!(
            client_verifier(Some("RequireAndVerifyClientCert"), None, &provider)
                .is_err_and(|e| e.contains("client_ca_file"))
        );
        assert!(client_verifier(Some("Sometimes"), None, &provider).is_err_and(|e| e.contains("unknown value")));
    }

    /// Basic auth of one user, `prometheus`, whose password is `s3cret` (bcrypt cost 4).
    fn prometheus_user() -> BasicAuth {
        let hash = bcrypt::hash("s3cret", 4).expect("hash");
        parse(&format!("basic_auth_users:\n  prometheus: '{hash}'\n"), Path::new("."))
            .expect("config")
            .users
            .expect("users")
    }

    /// `Authorization: Basic base64(credentials)`.
    fn basic(credentials: &str) -> HeaderValue {
        HeaderValue::from_str(&format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credentials)))
            .expect("header")
    }

    #[tokio::test]
    async fn basic_auth_checks_and_remembers() {
        let auth = prometheus_user();
        assert_eq!(auth.check(Some(&basic("prometheus:s3cret"))).await, Check::Allowed);
        assert!(auth.verified.lock().expect("lock").contains_key("prometheus"));
        assert_eq!(auth.check(Some(&basic("prometheus:s3cret"))).await, Check::Allowed, "remembered");
        assert_eq!(auth.check(Some(&basic("prometheus:wrong"))).await, Check::Denied);
        assert_eq!(auth.check(Some(&basic("nobody:s3cret"))).await, Check::Denied);
        assert_eq!(auth.check(Some(&basic("prometheus"))).await, Check::Denied);
        assert_eq!(auth.check(Some(&HeaderValue::from_static("Bearer abc"))).await, Check::Denied);
        assert_eq!(auth.check(None).await, Check::Denied);
        assert!(err("basic_auth_users:\n  prometheus: plaintext\n").contains("not a bcrypt hash"));
    }

    /// No number of failing clients keeps a scraper out: a remembered good password and a
    /// remembered wrong one are answered without bcrypt, and beyond the queue a check is
    /// Busy at once instead of waiting.
    #[tokio::test]
    async fn basic_auth_never_queues_without_bound() {
        let auth = prometheus_user();
        assert_eq!(auth.check(Some(&basic("prometheus:s3cret"))).await, Check::Allowed);
        assert_eq!(auth.check(Some(&basic("prometheus:wrong"))).await, Check::Denied);
        // Every bcrypt slot taken and the queue full.
        let _all = auth.bcrypt_slots.acquire_many(BCRYPT_AT_ONCE as u32).await.expect("permits");
        auth.waiting.store(BCRYPT_QUEUE + BCRYPT_AT_ONCE, std::sync::atomic::Ordering::Release);
        for (credentials, expected) in [
            ("prometheus:s3cret", Check::Allowed),
            ("prometheus:wrong", Check::Denied),
            ("prometheus:other", Check::Busy),
            ("nobody:x", Check::Busy),
        ] {
            let header = basic(credentials);
            let answer = tokio::time::timeout(std::time::Duration::from_secs(5), auth.check(Some(&header))).await;
            assert_eq!(answer, Ok(expected), "{credentials}: at once");
        }
    }

    /// A check dropped while it waits (its connection closed) leaves the line: the line
    /// never fills up with the dead.
    #[tokio::test]
    async fn a_dropped_check_leaves_the_line() {
        let auth = prometheus_user();
        let header = basic("prometheus:wrong");
        let all = auth.bcrypt_slots.acquire_many(BCRYPT_AT_ONCE as u32).await.expect("permits");
        for _ in 0..3 * (BCRYPT_QUEUE + BCRYPT_AT_ONCE) {
            let waited = tokio::time::timeout(std::time::Duration::from_millis(1), auth.check(Some(&header))).await;
            assert!(waited.is_err(), "it waits for a slot");
        }
        assert_eq!(auth.waiting.load(std::sync::atomic::Ordering::Acquire), 0);
        drop(all);
        assert_eq!(auth.check(Some(&header)).await, Check::Denied);
    }

    #[test]
    fn the_examples_password_is_noticed() {
        let (copied, own) = (bcrypt::hash("changeme", 4).expect("hash"), bcrypt::hash("s3cret", 4).expect("hash"));
        let users = BTreeMap::from([("copied".to_string(), copied), ("own".to_string(), own)]);
        assert_eq!(users_of_the_example(&users), ["copied"]);
    }

    #[test]
    fn the_decoy_costs_as_much_as_the_costliest_user() {
        // BTreeMap order puts the cheaper hash last.
        let (a, b) = (bcrypt::hash("x", 5).expect("hash"), bcrypt::hash("y", 4).expect("hash"));
        let auth = parse(&format!("basic_auth_users:\n  a: '{a}'\n  b: '{b}'\n"), Path::new("."))
            .expect("config")
            .users
            .expect("users");
        let decoy: bcrypt::HashParts = auth.decoy.parse().expect("a hash");
        assert_eq!(decoy.get_cost(), 5);
    }

    #[test]
    fn errors_and_debug_never_show_the_files_secrets() {
        let key = "-----BEGIN PRIVATE KEY-----MIIEvQIBADANBgkqhkiG9w0BAQEFAASC";
        let hash = "$2y$10$Jd1ebZ5Rh0ve6rEp5rJ3QeKp5e0y0Jm3zV0Jf0Vb0QmQ0Jm3zV0Jf";
        for text in [
            format!("tls_server_config:\n  key: \"{key}\"\n  cert_file: [1, 2\n"),
            format!("basic_auth_users: \"{hash}\"\n"),
            format!("tls_server_config:\n  key: {key}\n  bad indent: x\n y: z\n"),
        ] {
            let e = err(&text);
            assert!(!e.contains("MIIEvQ") && !e.contains("Jd1ebZ"), "{e}");
            assert!(e.contains("line"), "the error says where: {e}");
        }
        let pem = Pem::Inline(key.to_string());
        let shown = format!("{pem:?}");
        assert!(!shown.contains("MIIEvQ"), "{shown}");
        assert_eq!(shown, format!("Inline(<{} bytes, not shown>)", key.len()));
    }
}
