// The test node's cluster DNS (`make check-node`): CoreDNS with only the plugins its Corefile
// (test/node/coredns.ts) uses, built the way CoreDNS documents external builds: a main that
// imports coremain and the plugins and sets their order. No forward plugin: Pods resolve
// cluster names only, so nothing they ask leaves this machine.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/ready"
)

func init() {
	dnsserver.Directives = []string{"errors", "health", "ready", "kubernetes", "cache", "loadbalance"}
}

func main() { coremain.Run() }
