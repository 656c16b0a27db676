// Command daprd is Dapr's sidecar: app.Run from the pinned dapr module, built
// with -tags stablecomponents, plus the sqlite name resolver, which upstream
// registers only under allcomponents and which lets sidecars on one host find
// each other without multicast DNS.
package main

import (
	"github.com/dapr/components-contrib/nameresolution/sqlite"
	"github.com/dapr/dapr/cmd/daprd/app"
	nrLoader "github.com/dapr/dapr/pkg/components/nameresolution"
)

func init() {
	nrLoader.DefaultRegistry.RegisterComponent(sqlite.NewResolver, "sqlite")
}

func main() {
	app.Run()
}
