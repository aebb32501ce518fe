// The strict HTTP/1.1 head parser lives in AuthHTTP (shared with the responder's HTTP verify
// door); the companion and its tests see it as before.
@_exported import AuthHTTP
