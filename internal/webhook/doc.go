// Package webhook receives Seam's webhooks: it verifies their Svix signature,
// drops repeats, and hands each event to a Sink. It knows nothing of Kubernetes;
// the controllers decide what an event means (and only ever read Seam again
// because of one: an event body is not trusted to take a decision).
package webhook
