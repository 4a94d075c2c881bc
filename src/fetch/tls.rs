//! The TLS settings every host's client shares, built once: rustls trusting the platform's
//! roots (the system store, or the files `SSL_CERT_FILE` and `SSL_CERT_DIR` name) and the
//! bundled Mozilla roots, plus `--ca-cert` files; or verifying nothing with `--insecure`.
//!
//! A `--ca-cert` certificate may also be the server's own: the usual development certificate
//! is self-signed with `CA:TRUE`, which webpki refuses as an end entity (`CaUsedAsEndEntity`)
//! while curl and OpenSSL accept it. [`TrustGiven`] accepts it when the server presents exactly
//! that certificate, for the names it carries.
//!
//! reqwest would build a fresh configuration for each client: the root store (the platform's
//! read from disk each time), the crypto provider and a session cache, some 100 KB. With a
//! client per host in progress that was most of the memory a many-hosts crawl used. One
//! configuration, shared, is what a single client had; it also lets a host's TLS session be
//! resumed after its client was dropped.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_name, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

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
        let given = options
            .ca_certs
            .iter()
            .map(|path| read_ca_certs(path).map(|certs| (path, certs)))
            .collect::<Result<Vec<_>, _>>()?;
        let verifier = TrustGiven::new(roots(&given)?, &given, provider)?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth()
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The certificates of each `--ca-cert` file, with its path.
type GivenCerts<'a> = [(&'a std::path::PathBuf, Vec<CertificateDer<'static>>)];

/// The bundled roots, the platform's, and the `--ca-cert` files'.
fn roots(given: &GivenCerts<'_>) -> Result<RootCertStore, FatalError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let native = rustls_native_certs::load_native_certs();
    for error in &native.errors {
        tracing::debug!(error = %error, "a platform certificate store could not be read");
    }
    // A platform certificate rustls cannot use is skipped, as curl skips it.
    let _ = roots.add_parsable_certificates(native.certs);
    for (path, certs) in given {
        for cert in certs {
            roots.add(cert.clone()).map_err(|err| FatalError::CaCert {
                path: path.to_path_buf(),
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

/// webpki's verification against the roots, and one more way in: a `--ca-cert` certificate
/// presented as the server's own certificate is trusted for the names it carries.
///
/// webpki checks a certificate's validity period before its basic constraints, so a
/// `CaUsedAsEndEntity` refusal means the certificate is well-formed and current; what is left
/// to check is that it is one the user gave, byte for byte, and that it names the server.
#[derive(Debug)]
struct TrustGiven {
    webpki: Arc<WebPkiServerVerifier>,
    /// Every certificate of the `--ca-cert` files.
    given: Vec<CertificateDer<'static>>,
}

impl TrustGiven {
    fn new(
        roots: RootCertStore,
        given: &GivenCerts<'_>,
        provider: Arc<CryptoProvider>,
    ) -> Result<TrustGiven, FatalError> {
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|err| FatalError::Client(err.to_string()))?;
        let given = given.iter().flat_map(|(_, certs)| certs.clone()).collect();
        Ok(TrustGiven { webpki, given })
    }

    /// Whether `end_entity` is one of the `--ca-cert` certificates.
    fn is_given(&self, end_entity: &CertificateDer<'_>) -> bool {
        self.given
            .iter()
            .any(|cert| cert.as_ref() == end_entity.as_ref())
    }
}

/// webpki's refusal of a CA certificate presented as the server's own.
fn is_ca_used_as_end_entity(err: &rustls::Error) -> bool {
    let rustls::Error::InvalidCertificate(CertificateError::Other(other)) = err else {
        return false;
    };
    other.0.downcast_ref::<webpki::Error>() == Some(&webpki::Error::CaUsedAsEndEntity)
}

impl ServerCertVerifier for TrustGiven {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(err) if is_ca_used_as_end_entity(&err) && self.is_given(end_entity) => {
                verify_server_name(&ParsedCertificate::try_from(end_entity)?, server_name)?;
                Ok(ServerCertVerified::assertion())
            }
            verdict => verdict,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
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
