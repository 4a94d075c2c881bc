//! Which TLS certificates the client trusts: the platform's roots (which honour
//! `SSL_CERT_FILE` and `SSL_CERT_DIR`) and the bundled Mozilla roots, plus `--ca-cert` files;
//! or none at all with `--insecure`.

use std::path::Path;

use reqwest::{Certificate, ClientBuilder};

use crate::config::TlsOptions;
use crate::error::FatalError;

/// Adds the `--ca-cert` roots to `builder`, or turns verification off for `--insecure`
/// (warning once). The platform's and the bundled roots are reqwest's built-in ones.
pub(super) fn trust(
    mut builder: ClientBuilder,
    options: &TlsOptions,
) -> Result<ClientBuilder, FatalError> {
    for path in &options.ca_certs {
        for cert in read_ca_certs(path)? {
            builder = builder.add_root_certificate(cert);
        }
    }
    if options.insecure {
        tracing::warn!("TLS certificates are not verified (--insecure)");
        builder = builder.danger_accept_invalid_certs(true);
    }
    Ok(builder)
}

/// The certificates of a PEM file; a file without any is an error.
fn read_ca_certs(path: &Path) -> Result<Vec<Certificate>, FatalError> {
    let fail = |reason: String| FatalError::CaCert {
        path: path.to_owned(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|err| fail(err.to_string()))?;
    let certs = Certificate::from_pem_bundle(&pem)
        .map_err(|err| fail(format!("not a PEM certificate file: {err}")))?;
    if certs.is_empty() {
        return Err(fail("no PEM certificate in it".into()));
    }
    Ok(certs)
}
