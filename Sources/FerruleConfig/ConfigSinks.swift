import FerruleCore
import FerruleRecords
import Foundation

// The `control:` and `sinks:` sections.
extension StationConfig {
    /// `control:`: the status socket and how long the station waits for people and clients.
    static func controlSection(_ c: ControlEntry?, _ path: ConfigPath) throws -> ControlSpec {
        var control = ControlSpec()
        guard let c else { return control }
        control.socket = c.socket
        control.group = c.group
        if let t = c.promptTimeout { control.promptTimeoutSeconds = try duration(t, path.key("promptTimeout")) }
        if let t = c.idleTimeout { control.idleTimeoutSeconds = try duration(t, path.key("idleTimeout"), within: 1...86400) }
        return control
    }

    /// `sinks:`: where every report goes, each sink with its own name (its place in the outbox).
    /// Relative paths are taken from the config file's folder.
    static func sinksSection(_ entries: [SinkEntry], configFile file: String, _ path: ConfigPath) throws -> [SinkSpec] {
        var sinks: [SinkSpec] = []
        for (i, e) in entries.enumerated() {
            let p = path.index(i)
            guard !e.name.trimmingCharacters(in: .whitespaces).isEmpty, !e.name.contains("/") else {
                throw ConfigIssue(
                    path: p.key("name"), message: "sink name '\(e.name)' is empty or has a '/'", fix: "name the sink, e.g. 'mes-share'")
            }
            guard !sinks.contains(where: { $0.name == e.name }) else {
                throw ConfigIssue(
                    path: p.key("name"), message: "sink name '\(e.name)' is used twice",
                    fix: "give every sink its own name: it keys its place in the outbox")
            }
            let folder = parentDirectory(of: file)
            let kind = try oneOf(e.kind, SinkKind.self, p.key("kind"), what: "sink kind")
            // The broker's TLS files mean nothing to the other kinds: said, not silently ignored.
            for (key, set) in [("caFile", e.caFile != nil), ("certFile", e.certFile != nil), ("keyFile", e.keyFile != nil)]
            where set && kind != .cfxAMQP {
                throw ConfigIssue(
                    path: p.key(key), message: "'\(key)' is for cfx-amqp sinks (TLS to the broker)",
                    fix: kind == .postgres ? "remove it; a postgres sink's TLS is 'tls: require'" : "remove it")
            }
            let destination: SinkSpec.Destination =
                switch kind {
                case .directory: .directory(try directorySink(e, folder: folder, p))
                case .postgres: .postgres(try postgresSink(e, folder: folder, p))
                case .http: .http(try httpSink(e, folder: folder, p))
                case .cfxAMQP: .cfxAMQP(try cfxSink(e, folder: folder, p))
                case .zplLabel: .zplLabel(try labelSink(e, folder: folder, p))
                }
            var spec = SinkSpec(name: e.name, destination: destination)
            if let t = e.timeout { spec.timeoutSeconds = try duration(t, p.key("timeout")) }
            if let t = e.maxBackoff { spec.maxBackoffSeconds = try duration(t, p.key("maxBackoff")) }
            sinks.append(spec)
        }
        return sinks
    }

    private static func directorySink(_ e: SinkEntry, folder: String, _ p: ConfigPath) throws -> DirectorySinkSpec {
        guard let path = e.path, !path.isEmpty else {
            throw ConfigIssue(
                path: p.key("path"), message: "a directory sink needs its folder",
                fix: "add 'path: /mnt/mes/inbox' (the folder the MES watches)")
        }
        for (key, v) in [("url", e.url), ("format", e.format), ("tokenFile", e.tokenFile)] where v != nil {
            throw ConfigIssue(path: p.key(key), message: "'\(key)' is for http sinks", fix: "remove it, or use 'kind: http'")
        }
        var spec = DirectorySinkSpec(path: resolvedPath(path, from: folder))
        if let fs = e.formats {
            guard !fs.isEmpty else {
                throw ConfigIssue(
                    path: p.key("formats"), message: "no formats",
                    fix: "list some of: \(ReportFormat.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            spec.formats = try fs.enumerated().map { j, x in
                try oneOf(x, ReportFormat.self, p.key("formats").index(j), what: "report format")
            }
        }
        return spec
    }

    private static func postgresSink(_ e: SinkEntry, folder: String, _ p: ConfigPath) throws -> PostgresSinkSpec {
        guard let url = e.url, let u = URLComponents(string: url), ["postgres", "postgresql"].contains(u.scheme ?? ""),
            u.host != nil, u.user != nil, !u.path.dropFirst().isEmpty
        else {
            throw ConfigIssue(
                path: p.key("url"), message: "'\(e.url ?? "")' is not a postgres URL",
                fix: "give the line database, e.g. 'url: postgres://ferrule@db.line3:5432/results' and its 'passwordFile'")
        }
        let others = [
            ("path", e.path != nil), ("formats", e.formats != nil), ("format", e.format != nil), ("tokenFile", e.tokenFile != nil)
        ]
        for (key, set) in others where set {
            throw ConfigIssue(
                path: p.key(key), message: "'\(key)' is not for postgres sinks", fix: "remove it; the database gets the whole report")
        }
        var spec = PostgresSinkSpec(url: url)
        spec.passwordFile = e.passwordFile.map { resolvedPath($0, from: folder) }
        if let t = e.tls { spec.requireTLS = try oneOf(t, TLSMode.self, p.key("tls"), what: "TLS mode") == .require }
        return spec
    }

    private static func httpSink(_ e: SinkEntry, folder: String, _ p: ConfigPath) throws -> HTTPSinkSpec {
        guard let url = e.url, let u = URL(string: url), ["http", "https"].contains(u.scheme ?? ""), u.host != nil else {
            throw ConfigIssue(
                path: p.key("url"), message: "'\(e.url ?? "")' is not an http(s) URL",
                fix: "give the MES endpoint, e.g. 'url: https://mes.example/api/results'")
        }
        for (key, set) in [("path", e.path != nil), ("formats", e.formats != nil)] where set {
            throw ConfigIssue(
                path: p.key(key), message: "'\(key)' is for directory sinks", fix: "remove it; an http sink sends one 'format'")
        }
        var spec = HTTPSinkSpec(url: url)
        if let x = e.format { spec.format = try oneOf(x, ReportFormat.self, p.key("format"), what: "report format") }
        spec.tokenFile = e.tokenFile.map { resolvedPath($0, from: folder) }
        return spec
    }

    private static func cfxSink(_ e: SinkEntry, folder: String, _ p: ConfigPath) throws -> CFXSinkSpec {
        let broker = try broker(
            BrokerKeys(url: e.url, user: e.user, passwordFile: e.passwordFile, caFile: e.caFile, certFile: e.certFile, keyFile: e.keyFile),
            folder: folder, p, urlKey: "url")
        guard let address = e.address, !address.isEmpty else {
            throw ConfigIssue(
                path: p.key("address"), message: "a cfx-amqp sink needs the broker address to publish to",
                fix: "add e.g. 'address: /exchange/amq.topic/cfx' (an exchange) or '/queue/cfx' (a queue)")
        }
        for (key, set) in [("path", e.path != nil), ("formats", e.formats != nil), ("format", e.format != nil)] where set {
            throw ConfigIssue(
                path: p.key(key), message: "'\(key)' is not for cfx-amqp sinks", fix: "remove it; the sink publishes CFX messages")
        }
        return CFXSinkSpec(broker: broker, address: address, handle: e.handle)
    }

    private static func labelSink(_ e: SinkEntry, folder: String, _ p: ConfigPath) throws -> LabelSinkSpec {
        guard let printer = e.printer.flatMap(LabelPrinter.parse) else {
            throw ConfigIssue(
                path: p.key("printer"), message: "'\(e.printer ?? "")' is not a label printer",
                fix: "give a network printer's raw port, e.g. 'printer: tcp://10.3.0.50:9100', or a device, '/dev/usb/lp0'")
        }
        for (key, set) in [("url", e.url != nil), ("path", e.path != nil), ("formats", e.formats != nil)] where set {
            throw ConfigIssue(path: p.key(key), message: "'\(key)' is not for zpl-label sinks", fix: "remove it; name the 'printer'")
        }
        var spec = LabelSinkSpec(printer: printer)
        if let verdicts = e.print {
            spec.printOn = try verdicts.enumerated().map { i, v in try oneOf(v, Verdict.self, p.key("print").index(i), what: "verdict") }
        }
        for (part, file) in (e.templates ?? [:]).sorted(by: { $0.key < $1.key }) {
            let path = resolvedPath(file, from: folder)
            let where_ = p.key("templates").key(part)
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ConfigIssue(path: where_, message: "cannot read the label template \(path)", fix: "give a readable ZPL file")
            }
            do { _ = try LabelTemplate(text: text, source: path) } catch {
                throw ConfigIssue(path: where_, message: error.description, fix: "see the label fields in docs/integration.md")
            }
            spec.templates[part] = text
        }
        return spec
    }
}
