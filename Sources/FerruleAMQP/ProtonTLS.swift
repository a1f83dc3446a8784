import CProton
import Foundation

/// TLS to the broker (amqps) with Proton's OpenSSL layer: the broker's certificate must chain to
/// the configured CA and name the host connected to (PN_SSL_VERIFY_PEER_NAME, Proton's client
/// default, made explicit). Proton reports both failures as one OpenSSL "certificate verify
/// failed"; `TLSDiagnosis` tells them apart for the operator.
extension ProtonConnection {
    /// Puts TLS on `transport`; a reason when the CA or the station's own certificate cannot be loaded.
    static func secure(_ transport: OpaquePointer?, _ tls: AMQPTLS, host: String, checkName: Bool) -> String? {
        guard let domain = pn_ssl_domain(PN_SSL_MODE_CLIENT) else { return "Proton has no TLS support on this machine" }
        defer { pn_ssl_domain_free(domain) }
        guard FileManager.default.isReadableFile(atPath: tls.caFile), pn_ssl_domain_set_trusted_ca_db(domain, tls.caFile) == 0 else {
            return "cannot load the CA file \(tls.caFile) (caFile): give a readable PEM file of the CA that signed the broker's certificate"
        }
        if let cert = tls.certFile {
            guard pn_ssl_domain_set_credentials(domain, cert, tls.keyFile ?? cert, nil) == 0 else {
                return "cannot load the station's certificate \(cert) with its key \(tls.keyFile ?? cert) (certFile, keyFile)"
            }
        }
        let mode = checkName ? PN_SSL_VERIFY_PEER_NAME : PN_SSL_VERIFY_PEER
        guard pn_ssl_domain_set_peer_authentication(domain, mode, tls.caFile) == 0 else {
            return "cannot set up the check of the broker's certificate against \(tls.caFile)"
        }
        let ssl = pn_ssl(transport)
        guard pn_ssl_init(ssl, domain, nil) == 0 else { return "cannot start TLS to the broker" }
        pn_ssl_set_peer_hostname(ssl, host)
        return nil
    }

    /// The transport's reason, said as a TLS failure where it is one.
    func explainTLS(_ why: String?) -> String? {
        guard let why, let tls = endpoint.tls, TLSDiagnosis.isCertificateFailure(why) else { return why }
        return "TLS to the broker at \(endpoint.url) failed: its certificate did not pass the check against the CA in "
            + "\(tls.caFile) and the name '\(endpoint.host)' (\(why))"
    }
}

/// Tells a broker certificate that no configured CA signed from one that names another host: a
/// second connection checks the chain alone, and if that one opens, the name was what failed.
enum TLSDiagnosis {
    static func isCertificateFailure(_ why: String) -> Bool { why.contains("certificate verify failed") }

    /// `why` (a failed connection's reason) with the check that failed and its fix, when it was
    /// the broker's certificate; otherwise `why` unchanged.
    static func refine(_ why: String, endpoint: AMQPEndpoint, within timeout: Duration = .seconds(5)) async -> String {
        guard let tls = endpoint.tls, isCertificateFailure(why) else { return why }
        let probe = ProtonConnection(endpoint: endpoint, checkName: false)
        let chainHolds = await withTaskGroup(of: Bool?.self) { group in
            group.addTask { await probe.opened() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            probe.disconnect()
            group.cancelAll()
            return first
        }
        switch chainHolds {
        case true:
            return "TLS to the broker at \(endpoint.url) failed the host-name check: the broker's certificate is signed by "
                + "the CA in \(tls.caFile) but does not name '\(endpoint.host)'; connect by a name the certificate holds "
                + "(its subject alternative names) or have it reissued for '\(endpoint.host)'"
        case false:
            return "TLS to the broker at \(endpoint.url) failed the certificate check: the broker's certificate is not "
                + "signed by the CA in \(tls.caFile) (caFile), or it has expired; give caFile the CA that signed the "
                + "broker's certificate"
        default:
            return why
        }
    }
}
