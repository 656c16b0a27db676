// promql-names prints what PromQL expressions select, with Prometheus' own parser
// (promtool has no such command), so that tests can check the dashboard's and the alert
// rules' queries against the metrics and labels the services export.
//
// Input: a JSON array of expressions on stdin. Output: a JSON array with, per expression,
// {"error": "..."} or
//
//	{"names": [metric names],
//	 "selectors": [{"name": n, "matchers": [{"label", "op", "value"}]}],
//	 "labels": [{"label": l, "in": how, "names": [metric names it must be a label of]}]}
//
// selectors: every vector selector with its label matchers (the metric name's own
// matcher left out). labels: every label name the expression uses outside matchers:
// in by/without (in: "by", "without": the names selected under the aggregation),
// on/ignoring (both operands' names), group_left/group_right (the "one" side's names),
// and the source labels of label_replace, label_join and sort_by_label[_desc]. A label
// that label_replace, label_join or count_values creates under the node is left out.
// A selector without a plain metric name (e.g. {__name__=~"…"}) is an error, since its
// names cannot be checked.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

type matcher struct {
	Label string `json:"label"`
	Op    string `json:"op"`
	Value string `json:"value"`
}

type selector struct {
	Name     string    `json:"name"`
	Matchers []matcher `json:"matchers"`
}

type labelUse struct {
	Label string   `json:"label"`
	In    string   `json:"in"`
	Names []string `json:"names"`
}

type result struct {
	Names     []string   `json:"names,omitempty"`
	Selectors []selector `json:"selectors,omitempty"`
	Labels    []labelUse `json:"labels,omitempty"`
	Error     string     `json:"error,omitempty"`
}

// namesUnder lists the metric names of the vector selectors in the subtrees.
func namesUnder(nodes ...parser.Node) []string {
	var names []string
	for _, node := range nodes {
		parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
			if vs, ok := n.(*parser.VectorSelector); ok {
				names = append(names, vs.Name)
			}
			return nil
		})
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// stringValue is the value of a string literal, in parentheses or not ("" when e is not one).
func stringValue(e parser.Expr) string {
	for {
		switch v := e.(type) {
		case *parser.ParenExpr:
			e = v.Expr
		case *parser.StringLiteral:
			return v.Val
		default:
			return ""
		}
	}
}

// stringArg is a function's string-literal argument ("" when it is not one).
func stringArg(args parser.Expressions, i int) string {
	if i < len(args) {
		return stringValue(args[i])
	}
	return ""
}

// createdUnder lists the labels that label_replace, label_join and count_values create in the subtrees.
func createdUnder(nodes ...parser.Node) map[string]bool {
	created := map[string]bool{}
	for _, node := range nodes {
		parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
			switch n := n.(type) {
			case *parser.Call:
				if n.Func.Name == "label_replace" || n.Func.Name == "label_join" {
					created[stringArg(n.Args, 1)] = true
				}
			case *parser.AggregateExpr:
				if n.Op == parser.COUNT_VALUES {
					created[stringValue(n.Param)] = true
				}
			}
			return nil
		})
	}
	return created
}

func analyse(p parser.Parser, input string) (result, error) {
	var r result
	expr, err := p.ParseExpr(input)
	if err != nil {
		return r, err
	}
	use := func(in string, lbls []string, over ...parser.Node) {
		created := createdUnder(over...)
		names := namesUnder(over...)
		for _, l := range lbls {
			if l != "" && !created[l] {
				r.Labels = append(r.Labels, labelUse{Label: l, In: in, Names: names})
			}
		}
	}
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			if n.Name == "" {
				err = fmt.Errorf("selector %s has no metric name", n)
			}
			r.Names = append(r.Names, n.Name)
			s := selector{Name: n.Name, Matchers: []matcher{}}
			for _, m := range n.LabelMatchers {
				if m.Name != labels.MetricName {
					s.Matchers = append(s.Matchers, matcher{Label: m.Name, Op: m.Type.String(), Value: m.Value})
				}
			}
			r.Selectors = append(r.Selectors, s)
		case *parser.AggregateExpr:
			in := "by"
			if n.Without {
				in = "without"
			}
			use(in, n.Grouping, n.Expr)
		case *parser.BinaryExpr:
			if vm := n.VectorMatching; vm != nil {
				in := "ignoring"
				if vm.On {
					in = "on"
				}
				use(in, vm.MatchingLabels, n.LHS, n.RHS)
				switch vm.Card {
				case parser.CardManyToOne:
					use("group_left", vm.Include, n.RHS)
				case parser.CardOneToMany:
					use("group_right", vm.Include, n.LHS)
				}
			}
		case *parser.Call:
			switch n.Func.Name {
			case "label_replace":
				use(n.Func.Name, []string{stringArg(n.Args, 3)}, n.Args[0])
			case "label_join", "sort_by_label", "sort_by_label_desc":
				first := 3 // label_join(v, dst, separator, src...)
				if n.Func.Name != "label_join" {
					first = 1 // sort_by_label(v, label...)
				}
				var srcs []string
				for i := first; i < len(n.Args); i++ {
					srcs = append(srcs, stringArg(n.Args, i))
				}
				use(n.Func.Name, srcs, n.Args[0])
			}
		}
		return nil
	})
	slices.Sort(r.Names)
	r.Names = slices.Compact(r.Names)
	return r, err
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
		r, err := analyse(p, e)
		if err != nil {
			out[i] = result{Error: err.Error()}
		} else {
			out[i] = r
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(1)
	}
}
