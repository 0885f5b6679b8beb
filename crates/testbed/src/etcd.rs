//! The test bed's own client of etcd: its gRPC JSON gateway over TLS, with the certificate
//! the apiserver uses. etcd admits no other client (see [`Cluster`](super::Cluster)).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, IpAddr, PrivateKeyDer, ServerName};

use super::{Error, Result, io};

/// A client of one etcd, cheap to clone; blocking.
#[derive(Clone)]
pub struct EtcdClient {
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
}

impl EtcdClient {
    /// A client of etcd on `127.0.0.1:port` that trusts `ca` (PEM) and presents `cert` and
    /// `key` (PEM).
    pub(crate) fn new(port: u16, ca: &Path, cert: &Path, key: &Path) -> Result<Self> {
        let pem_error = |path: &Path| {
            let path = path.display().to_string();
            move |e: rustls::pki_types::pem::Error| Error::Startup(format!("reading {path}: {e}"))
        };
        let mut roots = rustls::RootCertStore::empty();
        for ca_cert in CertificateDer::pem_file_iter(ca).map_err(pem_error(ca))? {
            roots.add(ca_cert.map_err(pem_error(ca))?).map_err(|e| Error::Startup(format!("etcd's CA: {e}")))?;
        }
        let chain = CertificateDer::pem_file_iter(cert)
            .map_err(pem_error(cert))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(pem_error(cert))?;
        let key = PrivateKeyDer::from_pem_file(key).map_err(pem_error(key))?;
        let tls = |e: rustls::Error| Error::Startup(format!("TLS configuration for etcd: {e}"));
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(tls)?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(tls)?;
        Ok(EtcdClient { addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)), config: Arc::new(config) })
    }

    /// One POST of `json` to `path` (HTTP/1.0, so the answer is not chunked): the status
    /// and the body.
    pub fn post(&self, path: &str, json: &str) -> Result<(u16, Vec<u8>)> {
        let what = || format!("POST {path} to etcd at {}", self.addr);
        let name = ServerName::IpAddress(IpAddr::from(self.addr.ip()));
        let connection = rustls::ClientConnection::new(self.config.clone(), name)
            .map_err(|e| Error::Startup(format!("{}: {e}", what())))?;
        let tcp = TcpStream::connect(self.addr).map_err(io(what()))?;
        tcp.set_read_timeout(Some(Duration::from_secs(30))).map_err(io(what()))?;
        let mut stream = rustls::StreamOwned::new(connection, tcp);
        let request = format!(
            "POST {path} HTTP/1.0\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
            self.addr,
            json.len()
        );
        stream.write_all(request.as_bytes()).map_err(io(what()))?;
        let mut raw = Vec::new();
        match stream.read_to_end(&mut raw) {
            Ok(_) => {}
            // A server that closes without close_notify: the answer is whole when its length is.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
            Err(e) => return Err(io(what())(e)),
        }
        let (status, _, body) =
            super::http::parse_response(raw).map_err(|e| Error::Startup(format!("{}: {e}", what())))?;
        Ok((status, body))
    }

    /// [`EtcdClient::post`], the answer 200 and JSON.
    pub fn post_json(&self, path: &str, json: &str) -> Result<serde_json::Value> {
        let (status, body) = self.post(path, json)?;
        if status != 200 {
            let body = String::from_utf8_lossy(&body);
            return Err(Error::Startup(format!("POST {path} to etcd at {}: {status} {body}", self.addr)));
        }
        Ok(serde_json::from_slice(&body)?)
    }
}
