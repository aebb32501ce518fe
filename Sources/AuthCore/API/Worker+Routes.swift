// STUB (lead): route registration per flow.
extension Worker {
    static func registerAuthRoutes(_ r: inout Router) {}
    static func registerKeyRoutes(_ r: inout Router) {}
}
