//! The TLS settings every host's client shares: rustls with the webpki roots, built once.
//!
//! reqwest builds a fresh rustls configuration for each client: the root store, the crypto
//! provider and a session cache sized for 256 servers, some 100 KB. With a client per host
//! in progress that was most of the memory a many-hosts crawl used, and every new host paid
//! for it in CPU. One configuration, shared, is what a single client had; it also lets a
//! host's TLS session be resumed after its client was dropped.

use std::sync::Arc;

/// rustls as reqwest sets it up by default (webpki roots, ring, TLS 1.2 and 1.3, ALPN h2 and
/// http/1.1), for `ClientBuilder::use_preconfigured_tls`.
pub fn client_config() -> Result<rustls::ClientConfig, rustls::Error> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::ALL_VERSIONS)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_configuration_is_accepted_by_reqwest() {
        let config = client_config().unwrap();
        assert!(!config.alpn_protocols.is_empty());
        reqwest::Client::builder()
            .use_preconfigured_tls(config)
            .build()
            .expect("reqwest takes rustls's ClientConfig");
    }
}
