// Package sandbox is an in-memory Seam Connect server for tests, demos and
// benchmarks. It speaks the routes the operator uses, with Seam's JSON
// envelopes, error shapes and status codes, and adds what a real account
// cannot give on demand: asynchronous writes with a configurable delay, fault
// injection switchable at run time, counters per route and status, and
// inspection of its state.
//
// *Server is an http.Handler: run it in-process with httptest, or through
// cmd/seam-sandbox. Admin routes live under /_sandbox/ (no Seam auth: bind
// the server to loopback). Where the sandbox and @seamapi/fake-seam-connect
// disagree on the shape of a response, the fake is taken as right about the
// API and the sandbox follows it.
//
// It imports nothing from Kubernetes.
package sandbox
