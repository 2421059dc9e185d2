package controller_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/seam/sandbox"
)

var _ = Describe("One tenant's rate limit", func() {
	It("does not hold back another tenant's suspension", func() {
		// One manager with one worker: the worst case of a manager whose workers
		// are all taken by one tenant's connection. A call may wait out a
		// Retry-After up to the reconcile's Seam budget (20 s here, 2 min in
		// the shipped manager).
		ctx, stop := context.WithCancel(suiteCtx)
		DeferCleanup(stop) // after the worlds' own cleanups: they need the manager
		startManager(ctx, managerOptions{
			namespaces:   map[string]cache.Config{pausedTenantNamespace: {}, otherTenantNamespace: {}},
			workers:      1,
			maxRetryWait: time.Minute,
		})
		paused := newWorldIn(pausedTenantNamespace, sandbox.Options{})
		other := newWorldIn(otherTenantNamespace, sandbox.Options{})
		other.newAcsUser("leaver")
		paused.newAcsUser("settled") // both connections checked and working
		other.waitReady("leaver")
		paused.waitReady("settled")

		By("the paused tenant's Seam answers 429, retry after 15 s, to every call, while its user changes")
		calls := paused.totalReceived()
		paused.sandbox.StartRateLimitStorm(0, "15")
		DeferCleanup(paused.sandbox.StopRateLimitStorm)
		paused.update("settled", func(s *seamv1alpha1.AcsUserSpec) { s.FullName = "Renamed" })
		Eventually(paused.totalReceived).Should(Equal(calls + 1))

		By("the other tenant's suspension reaches its Seam while that pause lasts")
		other.update("leaver", func(s *seamv1alpha1.AcsUserSpec) { s.Suspended = true })
		Eventually(func() bool { return other.remote("leaver").IsSuspended }, 10*time.Second).Should(BeTrue(),
			"a worker waiting out another tenant's Retry-After held the suspension back")
		Expect(paused.totalReceived()).To(Equal(calls+1),
			"nothing more is sent to the paused tenant's Seam before its Retry-After")

		By("the paused tenant's change lands once its Seam takes calls again")
		paused.sandbox.StopRateLimitStorm()
		Eventually(func() string { return paused.remote("settled").FullName }).Should(Equal("Renamed"))
		paused.waitReady("settled")
	})
})
