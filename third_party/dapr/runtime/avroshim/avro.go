// Package avro stands in for github.com/iskorotkov/avro/v2, a fork of
// hamba/avro that the Go module proxy reachable here refuses (403). daprd's
// stable component set imports it only to cap Pulsar's Avro decoder
// allocations (cmd/daprd/components/pubsub_pulsar.go). We build Pulsar against
// upstream pulsar-client-go, which decodes with hamba/avro's DefaultConfig, so
// Freeze applies the cap there. hamba has no map cap: MaxMapAllocSize is
// accepted and ignored. context-qa uses no Pulsar component.
package avro

import hamba "github.com/hamba/avro/v2"

type API = hamba.API

type Config struct {
	MaxSliceAllocSize int
	MaxMapAllocSize   int
}

var DefaultConfig API = hamba.DefaultConfig

func (c Config) Freeze() API {
	api := hamba.Config{MaxSliceAllocSize: c.MaxSliceAllocSize}.Freeze()
	hamba.DefaultConfig = api
	return api
}
