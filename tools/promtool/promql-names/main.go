// promql-names prints the metric names PromQL expressions select, with Prometheus' own
// parser (promtool has no such command), so that tests can check the dashboard's and the
// alert rules' queries against the names the services export.
//
// Input: a JSON array of expressions on stdin. Output: a JSON array with, per expression,
// {"names": [...]} or {"error": "..."}; a selector without a plain metric name (e.g.
// {__name__=~"…"}) is an error, since its names cannot be checked.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"github.com/prometheus/prometheus/promql/parser"
)

type result struct {
	Names []string `json:"names,omitempty"`
	Error string   `json:"error,omitempty"`
}

func namesIn(p parser.Parser, input string) ([]string, error) {
	expr, err := p.ParseExpr(input)
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			if vs.Name == "" {
				err = fmt.Errorf("selector %s has no metric name", vs)
			}
			names = append(names, vs.Name)
		}
		return nil
	})
	slices.Sort(names)
	return slices.Compact(names), err
}

func main() {
	var exprs []string
	if err := json.NewDecoder(os.Stdin).Decode(&exprs); err != nil {
		fmt.Fprintln(os.Stderr, "promql-names: stdin must be a JSON array of strings:", err)
		os.Exit(2)
	}
	p := parser.NewParser(parser.Options{})
	out := make([]result, len(exprs))
	for i, e := range exprs {
		names, err := namesIn(p, e)
		if err != nil {
			out[i].Error = err.Error()
		} else {
			out[i].Names = names
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(1)
	}
}
