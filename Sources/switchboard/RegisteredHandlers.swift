import Handlers
import Switchboard

/// Every handler compiled into `switchboard`, by the name a config file uses.
///
/// Swift cannot discover types at run time, so this list is the one place handlers are registered. To add one:
/// depend on its target in Package.swift and add its type here.
let registeredHandlers = HandlerRegistry(
    inbound: [
        EventLogger.self
    ],
    outbound: [
        DemoIVR.self
    ]
)
