// The FastCGI responder: settings from the environment, a Unix socket, a pool of workers.
// Everything runs in `Responder` (a nonisolated entry point: worker threads must never
// touch main-actor code, see DESIGN.md "Things that bite here").
Responder.run()
