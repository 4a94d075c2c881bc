//! The TLS settings every host's client shares, built once: rustls trusting the platform's
//! roots (the system store, or the files `SSL_CERT_FILE` and `SSL_CERT_DIR` name) and the
//! bundled Mozilla roots, plus `--ca-cert` files; or verifying nothing with `--insecure`.
//!
//! reqwest would build a fresh configuration for each client: the root store (the platform's
//! read from disk each time), the crypto provider and a session cache, some 100 KB. With a
//! client per host in progress that was most of the memory a many-hosts crawl used. One
//! configuration, shared, is what a single client had; it also lets a host's TLS session be
//! resumed after its client was dropped.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::config::TlsOptions;
use crate::error::FatalError;

/// rustls as reqwest sets it up (ring, TLS 1.2 and 1.3, ALPN h2 and http/1.1), trusting what
/// `options` says, for `ClientBuilder::use_preconfigured_tls`.
pub(super) fn client_config(options: &TlsOptions) -> Result<rustls::ClientConfig, FatalError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .map_err(|err| FatalError::Client(err.to_string()))?;
    let mut config = if options.insecure {
        tracing::warn!("TLS certificates are not verified (--insecure)");
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
            .with_no_client_auth()
    } else {
        builder
            .with_root_certificates(roots(&options.ca_certs)?)
            .with_no_client_auth()
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The bundled roots, the platform's, and the `--ca-cert` files'.
fn roots(ca_certs: &[std::path::PathBuf]) -> Result<RootCertStore, FatalError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let native = rustls_native_certs::load_native_certs();
    for error in &native.errors {
        tracing::debug!(error = %error, "a platform certificate store could not be read");
    }
    // A platform certificate rustls cannot use is skipped, as curl skips it.
    let _ = roots.add_parsable_certificates(native.certs);
    for path in ca_certs {
        for cert in read_ca_certs(path)? {
            roots.add(cert).map_err(|err| FatalError::CaCert {
                path: path.to_owned(),
                reason: err.to_string(),
            })?;
        }
    }
    Ok(roots)
}

/// The certificates of a PEM file; a file without any is an error.
fn read_ca_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, FatalError> {
    let fail = |reason: String| FatalError::CaCert {
        path: path.to_owned(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|err| fail(err.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| fail(format!("not a PEM certificate file: {err}")))?;
    if certs.is_empty() {
        return Err(fail("no PEM certificate in it".into()));
    }
    Ok(certs)
}

/// `--insecure`: any certificate is accepted; signatures are still checked, so the
/// handshake itself stays sound.
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_configuration_is_accepted_by_reqwest() {
        for insecure in [false, true] {
            let options = TlsOptions {
                insecure,
                ..TlsOptions::default()
            };
            let config = client_config(&options).unwrap();
            assert!(!config.alpn_protocols.is_empty());
            reqwest::Client::builder()
                .use_preconfigured_tls(config)
                .build()
                .expect("reqwest takes rustls's ClientConfig");
        }
    }
}
