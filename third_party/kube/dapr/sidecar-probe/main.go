// sidecar-probe asks the Dapr operator for what a sidecar would load, the way daprd
// does it in Kubernetes mode: an X.509 identity from sentry (for the app id in
// --app-id, proven by a service-account token bound to the app's pod, file in
// DAPR_SENTRY_TOKEN_FILE; namespace in NAMESPACE), then mTLS calls to the operator's
// gRPC API. Writes {"identity", "components", "configuration", "resiliencies"} as the
// operator returns them (secret references resolved) to --out: Dapr logs go to stdout.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/dapr/dapr/pkg/healthz"
	"github.com/dapr/dapr/pkg/modes"
	operatorclient "github.com/dapr/dapr/pkg/operator/client"
	operatorv1pb "github.com/dapr/dapr/pkg/proto/operator/v1"
	"github.com/dapr/dapr/pkg/security"
	"github.com/dapr/kit/concurrency"
)

func main() {
	appID := flag.String("app-id", "", "the app id whose identity to request")
	config := flag.String("config", "", "the Configuration the app's dapr.io/config names")
	sentry := flag.String("sentry-address", "", "sentry's gRPC address")
	operator := flag.String("operator-address", "", "the operator's gRPC address")
	anchors := flag.String("trust-anchors-file", "", "the control plane's CA (ConfigMap dapr-trust-bundle)")
	cpNamespace := flag.String("control-plane-namespace", "dapr-system", "")
	cpTrustDomain := flag.String("control-plane-trust-domain", "cluster.local", "")
	outFile := flag.String("out", "", "where to write the answer (JSON)")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := probe(ctx, *appID, *config, *sentry, *operator, *anchors, *cpNamespace, *cpTrustDomain)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sidecar-probe:", err)
		os.Exit(1)
	}
	text, err := json.Marshal(out)
	if err == nil {
		err = os.WriteFile(*outFile, text, 0o600)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sidecar-probe:", err)
		os.Exit(1)
	}
}

func probe(ctx context.Context, appID, config, sentry, operator, anchors, cpNamespace, cpTrustDomain string) (map[string]any, error) {
	sec, err := security.New(ctx, security.Options{
		SentryAddress:           sentry,
		ControlPlaneTrustDomain: cpTrustDomain,
		ControlPlaneNamespace:   cpNamespace,
		TrustAnchorsFile:        &anchors,
		AppID:                   appID,
		MTLSEnabled:             true,
		Mode:                    modes.KubernetesMode,
		Healthz:                 healthz.New(),
	})
	if err != nil {
		return nil, err
	}
	var out map[string]any
	// The first runner to return stops the other (sec.Run renews the identity until then).
	mngr := concurrency.NewRunnerManager(sec.Run, func(ctx context.Context) error {
		handler, err := sec.Handler(ctx)
		if err != nil {
			return err
		}
		client, conn, err := operatorclient.GetOperatorClient(ctx, operator, handler)
		if err != nil {
			return err
		}
		defer conn.Close()
		ns := security.CurrentNamespace()
		comps, err := client.ListComponents(ctx, &operatorv1pb.ListComponentsRequest{Namespace: ns})
		if err != nil {
			return fmt.Errorf("ListComponents: %w", err)
		}
		conf, err := client.GetConfiguration(ctx, &operatorv1pb.GetConfigurationRequest{Name: config, Namespace: ns})
		if err != nil {
			return fmt.Errorf("GetConfiguration: %w", err)
		}
		res, err := client.ListResiliency(ctx, &operatorv1pb.ListResiliencyRequest{Namespace: ns})
		if err != nil {
			return fmt.Errorf("ListResiliency: %w", err)
		}
		out = map[string]any{
			"identity":      handler.ID().String(),
			"components":    raw(comps.GetComponents()),
			"configuration": json.RawMessage(conf.GetConfiguration()),
			"resiliencies":  raw(res.GetResiliencies()),
		}
		return nil
	})
	if err := mngr.Run(ctx); out == nil {
		return nil, fmt.Errorf("no answer (%v, %v)", err, ctx.Err())
	}
	return out, nil
}

func raw(items [][]byte) []json.RawMessage {
	out := make([]json.RawMessage, len(items))
	for i, b := range items {
		out[i] = b
	}
	return out
}
