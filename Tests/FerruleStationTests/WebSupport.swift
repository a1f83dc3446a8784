import AsyncHTTPClient
import FerruleControl
import FerruleProtocol
import FerruleSetup
import FerruleConfig
import FerruleStation
import FerruleWeb
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import ServiceLifecycle
import FerruleTesting
import Testing

/// An in-process station with its web app on a free port, and a client that keeps a session.
struct WebBench {
    let built: BuiltStation
    let base: String
    let task: Task<Void, any Error>

    var station: Station { built.station }

    /// `spec` nil: the simulated config's `http:` (users included) on port 0.
    static func start(spec: HTTPSpec? = nil, config: StationConfig? = nil) async throws -> WebBench {
        let cfg = try config ?? StationConfig.parse(inProcessConfigText(), file: "inprocess.yaml")
        let built = try await makeBuiltStation(config: cfg)
        var http = try #require(spec ?? cfg.http)
        http.port = 0
        var routes = ControlRoutes.station(built.station)
        routes.serveFaults(built.faults)
        var logger = Logger(label: "web-test")
        logger.logLevel = .error
        let web = try WebService(
            station: built.station, routes: routes, spec: http, sessionsPath: temporaryDirectory() + "/sessions.json",
            reload: { .refused("no config file in this test") }, logger: logger)
        let task = Task { try await web.run() }
        var address: String?
        try await waitUntil("the web app listens") {
            address = await built.station.status().webAddress
            return address != nil
        }
        return WebBench(built: built, base: String(try #require(address).dropLast()), task: task)
    }

    /// A self-signed certificate and key for localhost, from openssl (Debian's, on every machine here).
    static func selfSignedCertificate() throws -> (certificate: String, key: String) {
        let dir = temporaryDirectory()
        let (status, out) = try runProgram(
            "/usr/bin/env",
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                "-keyout", dir + "/tls.key", "-out", dir + "/tls.crt"
            ])
        guard status == 0 else { throw DaemonError(description: "openssl failed: \(out)") }
        return (dir + "/tls.crt", dir + "/tls.key")
    }

    func stop() async {
        task.cancel()
        _ = await task.result
        await station.shutdown()
    }
}

/// One browser's worth of HTTP: the session cookie and the CSRF token, as the page keeps them.
final class WebClient: @unchecked Sendable {
    let base: String
    var cookie: String?
    var csrf: String?
    static let http = HTTPClient(eventLoopGroupProvider: .singleton)
    /// For a test's self-signed certificate.
    static let trustingAnyCertificate: HTTPClient = {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
    }()

    init(_ base: String) { self.base = base }

    struct Reply {
        var status: Int
        var body: String
        var headers: HTTPHeaders
        var json: JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: Data(body.utf8)) }
    }

    @discardableResult
    func signIn(_ id: String, _ pin: String) async throws -> Reply {
        let r = try await send("POST", "/api/signin", body: #"{"id": "\#(id)", "pin": "\#(pin)"}"#, csrf: false)
        if r.status == 200 {
            cookie = r.headers["set-cookie"].first?.split(separator: ";").first.map(String.init)
            csrf = r.json?["csrf"]?.string
        }
        return r
    }

    func send(
        _ method: String, _ path: String, body: String? = nil, csrf sendToken: Bool = true,
        headers extra: [(String, String)] = []
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: base + path)
        request.method = HTTPMethod(rawValue: method)
        if let cookie { request.headers.add(name: "Cookie", value: cookie) }
        if sendToken, let csrf { request.headers.add(name: "X-CSRF-Token", value: csrf) }
        request.headers.add(name: "Content-Type", value: "application/json")
        for (k, v) in extra { request.headers.add(name: k, value: v) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let client = base.hasPrefix("https:") ? Self.trustingAnyCertificate : Self.http
        let response = try await client.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 8 << 20)
        return Reply(status: Int(response.status.code), body: String(buffer: bytes), headers: response.headers)
    }
}
