import FerruleControl
import FerruleProtocol
import FerruleConfig
import FerruleStation
import Foundation
import Hummingbird
import HummingbirdAuth
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle

/// The operator web app as a service of ferruled's group: it listens while the daemon runs and
/// stops with it (open pages see their WebSocket close and reconnect to the next daemon).
public struct WebService: Service {
    let app: Application<RouterResponder<WebContext>>
    let host: String
    let port: Int

    /// - Parameters:
    ///   - routes: the socket's request handlers (with fault injection where the bench is simulated).
    ///   - sessionsPath: where signed-in sessions survive a restart (in the data directory).
    ///   - reload: reads the config file again (what SIGHUP does).
    ///   - metrics: the Prometheus exposition served at `/metrics`, without sign-in (a scraper has none).
    public init(
        station: Station, routes: ControlRoutes, spec: HTTPSpec, sessionsPath: String,
        reload: @escaping @Sendable () async -> ReloadOutcome, metrics: (@Sendable () async -> String)? = nil, logger: Logger
    ) throws {
        host = spec.host
        port = spec.port
        // A session that ran out of idle time signed its user out: the line is told, stamped then.
        let sessions = SessionFile(path: sessionsPath) { [weak station] json, at in
            guard let session = try? JSONDecoder().decode(WebSession.self, from: json) else { return }
            await station?.operatorDeactivated(session.userId, via: "web", at: at)
        }
        let router = Self.router(station: station, routes: routes, spec: spec, sessions: sessions, reload: reload)
        if let metrics {
            router.get("/metrics") { _, _ in
                var headers = HTTPFields()
                headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: await metrics())))
            }
        }
        let ws = HTTP1WebSocketUpgradeChannel.Configuration(ws: .init(maxFrameSize: 1 << 20))
        var server = HTTPServerBuilder.http1WebSocketUpgrade(webSocketRouter: router, configuration: ws)
        if let cert = spec.tlsCertificate, let key = spec.tlsKey {
            do {
                let tls = TLSConfiguration.makeServerConfiguration(
                    certificateChain: try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) },
                    privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
                server = try .tls(server, tlsConfiguration: tls)
            } catch {
                throw WebSetupError(description: "http.tls: cannot use \(cert) and \(key): \(error)")
            }
        }
        let scheme = spec.tlsCertificate == nil ? "http" : "https"
        app = Application(
            router: router, server: server,
            configuration: .init(address: .hostname(spec.host, port: spec.port), serverName: "ferruled"),
            services: [sessions],
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? spec.port
                let host = spec.host.contains(":") ? "[\(spec.host)]" : spec.host
                await station.setWebAddress("\(scheme)://\(host):\(port)/")
                logger.info("web app on \(scheme)://\(host):\(port)/")
            },
            logger: logger)
    }

    public func run() async throws {
        do { try await app.run() } catch {
            // Most often the port is taken: say which and where to change it; ferruled stops.
            let why = (error as? IOError).map { String(cString: strerror($0.errnoCode)) } ?? "\(error)"
            throw WebSetupError(
                description: "the web app cannot listen on \(host):\(port): \(why); change http.listen or stop what uses that port")
        }
    }

    static func router(
        station: Station, routes: ControlRoutes, spec: HTTPSpec, sessions: SessionFile,
        reload: @escaping @Sendable () async -> ReloadOutcome
    ) -> Router<WebContext> {
        let router = Router(context: WebContext.self)
        let cookie = SessionCookieParameters(name: "ferrule_session", path: "/", secure: spec.tlsCertificate != nil, sameSite: .strict)
        let idle = Duration.milliseconds(Int64(spec.idleSignOutSeconds * 1000))
        router.add(
            middleware: SessionMiddleware(
                storage: sessions,
                configuration: .init(
                    sessionCookieParameters: cookie,
                    defaultSessionExpiration: idle)))
        router.get("/") { _, _ in try Assets.response("index.html") }
        router.get("/assets/:name") { _, context in try Assets.response(context.parameters.get("name") ?? "") }
        // Browsers ask for /favicon.ico whatever the page links: the same icon, not a 404 in the console.
        router.get("/favicon.ico") { _, _ in try Assets.response("favicon.svg") }

        let signIn = SignInRoutes(
            station: station, limiter: SignInGuard(limit: spec.maxFailedSignIns), idleSeconds: spec.idleSignOutSeconds)
        router.post("/api/signin", use: signIn.signIn)
        router.get("/api/session", use: signIn.session)

        let api = APIRoutes(station: station, routes: routes, reload: reload)
        let events = EventStream(station: station, routes: routes)
        let reports = ReportRoutes(station: station)
        let signedIn = router.group().add(middleware: SignedInMiddleware(station: station, idle: idle))
        signedIn.get("/api/me", use: signIn.current)
        signedIn.post("/api/signout", use: signIn.signOut)
        signedIn.post("/api/language", use: signIn.setLanguage)
        signedIn.post("/api/reload", use: api.reloadConfig)
        signedIn.ws("/api/events", shouldUpgrade: events.shouldUpgrade, onUpgrade: events.run)
        signedIn.get("/api/delivery", use: api.delivery)
        signedIn.post("/api/scan", use: api.scan)
        signedIn.get("/api/:type", use: api.get)
        signedIn.post("/api/:type", use: api.post)
        signedIn.get("/reports/:file", use: reports.report)
        signedIn.get("/charts/:chart", use: reports.chart)
        signedIn.get("/lots/report.html", use: reports.lot)
        return router
    }
}

/// The web app could not be set up (TLS files); ferruled names it and does not start.
public struct WebSetupError: Error, CustomStringConvertible {
    public var description: String
}
