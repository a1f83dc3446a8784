import FerruleControl
import FerruleCore
import FerruleProtocol
import FerruleConfig
import FerruleStation
import Foundation
import Hummingbird
import HummingbirdWebSocket

/// `/api/events`: the page's live feed over a WebSocket, from the same event bus as the socket.
/// First a snapshot (status and open prompts) to build the page from, then every event as it
/// happens, each stamped with the server's time (`at`, ms since 1970) so the page can tell how
/// late it is. A page that loses the connection opens a new one and rebuilds from the snapshot.
struct EventStream {
    let station: Station
    let routes: ControlRoutes

    /// Only the station's own pages may open the feed (the browser sends their Origin).
    func shouldUpgrade(_ request: Request, context: WebContext) async throws -> RouterShouldUpgrade {
        _ = try context.requireUser()
        try SameOrigin.check(request)
        return .upgrade([:])
    }

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, context: WebSocketRouterContext<WebContext>) async throws {
        // Subscribe before the snapshot: an event between the two is sent twice, never lost.
        let events = await station.events.subscribeStamped(buffer: 4096)
        try await outbound.write(.text(try snapshot()))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // The page sends nothing that matters; its close ends the feed.
                for try await _ in inbound {}
            }
            group.addTask {
                for await stamped in events {
                    try await outbound.write(.text(try Self.line(stamped.event, at: stamped.at)))
                }
                // The bus finished: the daemon is stopping. The page reconnects to the next one.
                try await outbound.close(.goingAway, reason: "ferruled is stopping")
            }
            try await group.next()
            group.cancelAll()
        }
    }

    func snapshot() async throws -> String {
        let status = try JSONValue.from(await station.status())
        let prompts = try JSONValue.from(await station.prompts.pending)
        let recipes = try await routes.handler(for: .recipes)?(ControlRequest(.recipes)) ?? .array([])
        let value = JSONValue.object([
            "type": .string("snapshot"), "at": .number(Self.now()), "status": status, "prompts": prompts, "recipes": recipes
        ])
        return String(decoding: try ControlProtocol.encoder().encode(value), as: UTF8.self)
    }

    /// `at`: when the engine published it (ms since 1970), so the page's lag includes the bus's.
    static func line(_ event: StationEvent, at: Date) throws -> String {
        let ms = (at.timeIntervalSince1970 * 1000).rounded()
        let value = JSONValue.object(["type": .string("event"), "at": .number(ms), "event": try event.wireValue()])
        return String(decoding: try ControlProtocol.encoder().encode(value), as: UTF8.self)
    }

    static func now() -> Double { (Date().timeIntervalSince1970 * 1000).rounded() }
}
