package controller_test

import (
	"cmp"
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/seam/sandbox"
)

// twoTenants starts a manager of its own for two namespaces, by default with one
// worker (the worst case of a manager whose workers are all taken by one tenant),
// and a world in each. o sets the rest (maxRetryWait: the longest Retry-After a
// call may wait out; 0 the suite's); its namespaces are the two.
func twoTenants(ns1, ns2 string, o managerOptions) (*world, *world) {
	ctx, stop := context.WithCancel(suiteCtx)
	DeferCleanup(stop) // after the worlds' own cleanups: they need the manager
	o.namespaces = map[string]cache.Config{ns1: {}, ns2: {}}
	o.workers = cmp.Or(o.workers, 1)
	startManager(ctx, o)
	return newWorldIn(ns1, sandbox.Options{}), newWorldIn(ns2, sandbox.Options{})
}

var _ = Describe("One tenant's rate limit", func() {
	It("does not hold back another tenant's suspension", func() {
		// A call may wait out a Retry-After up to the reconcile's Seam budget
		// (20 s here, 2 min in the shipped manager).
		paused, other := twoTenants(pausedTenantNamespace, otherTenantNamespace, managerOptions{maxRetryWait: time.Minute})
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

// connChecked: the world's connection was checked at its generation and is Ready.
func connChecked(w *world) bool {
	c := &seamv1alpha1.SeamConnection{}
	if err := k8s.Get(suiteCtx, client.ObjectKey{Namespace: w.ns, Name: "seam"}, c); err != nil {
		return false
	}
	return c.Status.ObservedGeneration == c.Generation && meta.IsStatusConditionTrue(c.Status.Conditions, seamv1alpha1.ConditionReady)
}

var _ = Describe("One tenant's rate limit", func() {
	It("does not hold back another tenant's connection check", func() {
		// One worker checks every connection (and catches up on their events).
		paused, other := twoTenants(pausedCheckNamespace, otherCheckNamespace, managerOptions{maxRetryWait: time.Minute})
		Eventually(func() bool { return connChecked(paused) && connChecked(other) }).Should(BeTrue())

		By("the paused tenant's Seam answers 429, retry after 15 s, when its connection is checked again")
		calls := paused.totalReceived()
		paused.sandbox.StartRateLimitStorm(0, "15")
		DeferCleanup(paused.sandbox.StopRateLimitStorm)
		paused.setRateLimit(99, 99) // a new generation: checked again
		Eventually(paused.totalReceived).Should(Equal(calls + 1))

		By("the other tenant's connection is checked while that pause lasts")
		checks := other.received("/workspaces/get")
		other.setRateLimit(99, 99)
		Eventually(func() int { return other.received("/workspaces/get") }, 10*time.Second).Should(BeNumerically(">", checks),
			"the connection worker waiting out another tenant's Retry-After held this check back")
		Eventually(func() bool { return connChecked(other) }).Should(BeTrue())

		By("checked again during the pause, the paused connection sends nothing and reports what it knew")
		paused.setRateLimit(98, 98)
		Consistently(func() string { return connReady(paused, "seam") }, 2*time.Second).Should(Equal("False/RateLimited"))
		Expect(paused.totalReceived()).To(Equal(calls+1), "nothing more is sent to the paused tenant's Seam before its Retry-After")

		By("the paused tenant's connection is checked once its Seam takes calls again")
		paused.sandbox.StopRateLimitStorm()
		Eventually(func() bool { return connChecked(paused) }, 30*time.Second).Should(BeTrue())
	})
})

var _ = Describe("One tenant's Seam that stops answering", func() {
	It("does not hold back another tenant's connection check", func() {
		// Two workers check the connections here (one did before), and the Seam
		// client gives up on a call after 15 s.
		hanging, quick := twoTenants(hangingCheckNamespace, quickCheckNamespace, managerOptions{workers: 2, seamTimeout: 15 * time.Second})
		Eventually(func() bool { return connChecked(hanging) && connChecked(quick) }).Should(BeTrue())

		By("the hanging tenant's Seam stops answering /workspaces/get when its connection is checked again")
		hanging.sandbox.SetRouteLatency("/workspaces/get", time.Hour)
		hanging.setRateLimit(99, 99) // a new generation: checked again
		Eventually(func() int { return hanging.sandbox.InFlight("/workspaces/get") }).Should(Equal(1))

		By("the other tenant's connection is checked while that call hangs")
		quick.setRateLimit(99, 99)
		Eventually(func() bool { return connChecked(quick) }, 10*time.Second).Should(BeTrue(),
			"the connection worker waiting for another tenant's Seam held this check back")
		Expect(hanging.sandbox.InFlight("/workspaces/get")).To(Equal(1),
			"the other check must have run while the hanging call was still open")

		By("the hanging tenant's connection is checked once its Seam answers again")
		hanging.sandbox.SetRouteLatency("/workspaces/get", 0)
		Eventually(func() bool { return connChecked(hanging) }, time.Minute).Should(BeTrue())
	})
})

var _ = Describe("One tenant's flood of revocations", func() {
	It("does not queue another tenant's suspension behind it", func() {
		busy, quiet := twoTenants(busyTenantNamespace, quietTenantNamespace, managerOptions{})
		quiet.newAcsUser("leaver")
		var names []string
		for i := range 30 {
			names = append(names, fmt.Sprintf("staff-%02d", i))
			busy.newAcsUser(names[i])
		}
		for _, name := range names {
			busy.waitReady(name)
		}
		quiet.waitReady("leaver")

		By("the busy tenant's connection slowed to 2 calls a second, and all its users suspended at once")
		busy.setRateLimit(2, 1)
		for _, name := range names {
			busy.update(name, func(s *seamv1alpha1.AcsUserSpec) { s.Suspended = true })
		}
		Eventually(func() int { return busy.received("/acs/users/suspend") }).Should(BeNumerically(">=", 1))

		By("the quiet tenant's one suspension goes ahead of the flood's queue")
		quiet.update("leaver", func(s *seamv1alpha1.AcsUserSpec) { s.Suspended = true })
		Eventually(func() bool { return quiet.remote("leaver").IsSuspended }, 5*time.Second).Should(BeTrue(),
			"another tenant's suspension waited for the flood, sent at its connection's 2 calls a second")
		Expect(busy.received("/acs/users/suspend")).To(BeNumerically("<", len(names)),
			"the flood must still be draining for this test to mean anything")
	})
})

var _ = Describe("One tenant's flood of creates", func() {
	It("does not queue another tenant's new user, or the check that takes back a console grant, behind it", func() {
		flood, calm := twoTenants(floodTenantNamespace, calmTenantNamespace, managerOptions{})
		calm.newAcsUser("resident", func(s *seamv1alpha1.AcsUserSpec) { s.Suspended = true })
		flood.newAcsUser("first")
		resident := calm.waitReady("resident")
		flood.waitReady("first")

		By("the flooding tenant's connection slowed to 2 calls a second, and 40 users created at once")
		flood.setRateLimit(2, 1)
		Eventually(func() bool { return connChecked(flood) }).Should(BeTrue())
		for i := range 40 {
			flood.newAcsUser(fmt.Sprintf("onboarded-%02d", i))
		}
		Eventually(func() int { return flood.received("/acs/users/create") }).Should(BeNumerically(">=", 2))

		By("the calm tenant's new user is created ahead of the flood's queue")
		calm.newAcsUser("newcomer")
		Eventually(func() int { return calm.received("/acs/users/create") }, 5*time.Second).Should(Equal(2),
			"another tenant's new user waited for the flood, sent at its connection's 2 calls a second")

		By("a person lifts the calm tenant's suspension in the Seam console: the next resync suspends the user again")
		calm.consoleChange(resident.Status.AcsUserID, map[string]any{"is_suspended": false})
		Eventually(func() bool { return calm.remote("resident").IsSuspended }, 3*resyncPeriod).Should(BeTrue(),
			"another tenant's drift check waited for the flood")
		Expect(flood.received("/acs/users/create")).To(BeNumerically("<", 41),
			"the flood must still be draining for this test to mean anything")
	})
})
