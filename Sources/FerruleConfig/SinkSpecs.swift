import FerruleCore
import FerruleRecords
import Foundation

/// A sink: somewhere every report goes, at least once, with its own place in the outbox. Each
/// kind carries exactly the settings it needs, checked by the config (nothing optional to
/// unwrap when the sink is built).
public struct SinkSpec: Sendable, Hashable {
    public var name: String
    public var destination: Destination
    public var timeoutSeconds: Double = 10
    public var maxBackoffSeconds: Double = 60

    public var kind: SinkKind { destination.kind }

    public init(name: String, destination: Destination) {
        self.name = name
        self.destination = destination
    }

    public enum Destination: Sendable, Hashable {
        case directory(DirectorySinkSpec)
        case http(HTTPSinkSpec)
        case postgres(PostgresSinkSpec)
        case cfxAMQP(CFXSinkSpec)
        case zplLabel(LabelSinkSpec)

        public var kind: SinkKind {
            switch self {
            case .directory: .directory
            case .http: .http
            case .postgres: .postgres
            case .cfxAMQP: .cfxAMQP
            case .zplLabel: .zplLabel
            }
        }
    }
}

/// `kind: directory`: a folder the MES watches, and the files written there per unit.
public struct DirectorySinkSpec: Sendable, Hashable {
    /// Absolute (a relative one in the config is taken from the config file's folder).
    public var path: String
    public var formats: [ReportFormat] = [.json, .html]
}

/// `kind: http`: the MES endpoint, the body's format and the bearer token's file.
public struct HTTPSinkSpec: Sendable, Hashable {
    public var url: String
    public var format: ReportFormat = .json
    public var tokenFile: String?
}

/// `kind: postgres`: the line database, its password's file (the URL may carry one too) and
/// whether TLS is required.
public struct PostgresSinkSpec: Sendable, Hashable {
    public var url: String
    public var passwordFile: String?
    public var requireTLS = false
}

/// `kind: cfx-amqp`: the broker (with its credentials and TLS), the target address and the
/// station's CFX handle.
public struct CFXSinkSpec: Sendable, Hashable {
    public var broker: BrokerSpec
    public var address: String
    public var handle: String?
}

/// `kind: zpl-label`: the printer, the verdicts that get a label, and the label templates' text
/// by part number (read and checked with the config).
public struct LabelSinkSpec: Sendable, Hashable {
    public var printer: LabelPrinter
    public var printOn: [Verdict] = [.pass]
    public var templates: [String: String] = [:]
}
