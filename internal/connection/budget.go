package connection

import (
	"crypto/sha256"

	"github.com/acs-operator/acs-operator/internal/seam"
)

// budgetKey names a server-side rate limit: Seam limits an API key, not a
// connection, so every connection with one key at one endpoint spends one bucket.
// The key is kept as a hash: the resolver already holds it once, in the client.
type budgetKey struct {
	endpoint string
	apiKey   [sha256.Size]byte
}

func budgetKeyOf(endpoint, apiKey string) budgetKey {
	return budgetKey{endpoint: endpoint, apiKey: sha256.Sum256([]byte(apiKey))}
}

// budget is the one limiter of the connections that share a server bucket. Each
// with its own limiter, each would take the other's calls for the server's limit
// and settle under what the server grants, and a revocation on one would meet the
// other's creates at the server (a 429, then a Retry-After pause of both) instead
// of a queue that serves revocations first.
type budget struct {
	limiter *seam.AdaptiveLimiter
	// limits is each member connection's configured rate and burst: the limiter
	// takes the lowest of each, so that no connection sends more than it was told.
	limits map[string]limit
}

type limit struct {
	rps   float64
	burst int
}

// join makes the connection a member of the budget of key (leaving the one it was
// in), sets the limiter to the members' lowest limit, and returns the limiter.
// Callers hold r.mu.
func (r *Resolver) join(conn string, key budgetKey, l limit) *seam.AdaptiveLimiter {
	if old, ok := r.budgetOf[conn]; ok && old != key {
		if b := r.budgets[old]; len(b.limits) == 1 && r.budgets[key] == nil {
			// Its key rotated, and no one else spends either bucket: what the
			// limiter learnt of the server (the workspace's limit, likely the
			// new key's too) is kept.
			delete(r.budgets, old)
			r.budgets[key] = b
		} else {
			r.leave(conn)
		}
	}
	b := r.budgets[key]
	if b == nil {
		b = &budget{limiter: seam.NewAdaptiveLimiter(l.rps, l.burst), limits: map[string]limit{}}
		r.budgets[key] = b
	}
	_, member := b.limits[conn]
	b.limits[conn] = l
	r.budgetOf[conn] = key
	b.apply()
	if !member && len(b.limits) > 1 {
		rps, burst := b.limiter.Limit()
		r.opts.Logger.Info("Connections with one API key share its rate limit: the lowest rateLimit of theirs applies to each, and revocations go first across them",
			"connection", conn, "connections", len(b.limits), "requestsPerSecond", rps, "burst", burst)
	}
	return b.limiter
}

// leave takes the connection out of its budget; the last to leave drops it.
// Callers hold r.mu.
func (r *Resolver) leave(conn string) {
	key, ok := r.budgetOf[conn]
	if !ok {
		return
	}
	delete(r.budgetOf, conn)
	b := r.budgets[key]
	delete(b.limits, conn)
	if len(b.limits) == 0 {
		delete(r.budgets, key)
		return
	}
	b.apply()
}

// apply sets the limiter to the lowest rate and burst of the members, if that
// changed: a new limit starts a new sweep for the server's rate.
func (b *budget) apply() {
	lowest := limit{}
	for _, l := range b.limits {
		if lowest.rps == 0 || l.rps < lowest.rps {
			lowest.rps = l.rps
		}
		if lowest.burst == 0 || l.burst < lowest.burst {
			lowest.burst = l.burst
		}
	}
	if rps, burst := b.limiter.Limit(); rps != lowest.rps || burst != lowest.burst {
		b.limiter.SetLimit(lowest.rps, lowest.burst)
	}
}
