# context-qa: one entry point for people and CI. Every target runs on Node 24
# (provisioned from the npm registry when the machine's node is older).
SHELL := /bin/bash
.DEFAULT_GOAL := help
NODE_BIN := $(shell scripts/ensure-node.sh)
export PATH := $(NODE_BIN):$(PATH)
# The Dapr CLI looks for <runtime-path>/.dapr/bin/daprd.
export DAPR_RUNTIME_PATH := $(CURDIR)

.PHONY: help setup build typecheck lint unit test bench dev dapr-run check-manifests openapi images push clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: ## install everything (apt redis and chromium, Node 24, npm packages, third_party/: Dapr (an installed 1.18.3 or built from source), promtool, kustomize, hadolint); idempotent
	@scripts/setup.sh

build: ## compile all TypeScript workspaces
	@npx tsc -b

typecheck: build ## type-check sources and tests
	@npx tsc -p tsconfig.test.json

lint: build ## ESLint (type-aware: needs the workspaces built) and Prettier's check
	@npx eslint . --max-warnings 0
	@npx prettier --check .

# Tiers are jest projects chosen by folder (jest.config.js says which folder is which).
unit: ## unit tests only, from the TypeScript sources: needs `npm ci` and nothing else (no setup, build, Dapr)
	@npx jest --ci --selectProjects unit

test: setup typecheck lint ## run every test but the cluster and container tiers: unit, system (real daprd, Redis, dynalite), browser
	@npx jest --ci --selectProjects unit system browser

bench: setup ## benchmark the whole local stack (~10 min) → bench/results/latest.{json,md}
	@node bench/dist/run.js

# TRACING=1 (make dev TRACING=1) also builds (first time: minutes) and runs Jaeger, and
# prints its UI address; make exports command-line variables, so dev.js sees TRACING.
dev: setup ## run the whole stack in the foreground; Ctrl-C stops everything; TRACING=1 adds Jaeger
	@node packages/testkit/dist/dev.js

dapr-run: setup ## like dev, but sidecars and apps are started by `dapr run -f dapr/dapr.yaml` (the Dapr CLI); TRACING=1 adds Jaeger
	@DEV_LAUNCHER=dapr-cli node packages/testkit/dist/dev.js

check-manifests: build ## validate k8s/, components/ and dapr/ offline; DEPLOYABLE=<overlay> also fails on placeholders left in it
	@node tools/manifest-check/dist/main.js $(addprefix --deployable=,$(DEPLOYABLE))

.PHONY: check-cluster
check-cluster: ## apply the EKS overlay to a real Kubernetes 1.34 + Dapr 1.18.3 control plane on loopback (first run builds it from Go modules)
	@third_party/build dapr kube
	@npx jest --ci --selectProjects cluster

.PHONY: check-node
check-node: images ## opt-in, not in .ci/run yet (root): a real single-node Kubernetes 1.34 (kubelet, kube-proxy, containerd, CoreDNS) runs Pods of images built here and the Dapr control plane from its chart
	@scripts/node-prereqs.sh
	@third_party/build dapr kube --node
	@npx jest --ci --selectProjects node

openapi: build ## regenerate docs/openapi.json (public API) and docs/openapi-admin.json from the zod schemas
	@node packages/common/dist/openapi/gen.js

# Images: docker when a Docker engine answers, else podman (apt-installed with runc when
# missing); on the registry bases when they can be pulled, else on local stand-ins (make
# base-images; tools/images/README.md says how they differ). Each image is checked against
# tools/images/budget.txt and gets an SBOM in .run/images/sbom. Tags: localhost/context-qa/<service>:local,
# plus $(REGISTRY)/<service>:$(TAG) when REGISTRY is set (it is, for ECR, when AWS_ACCOUNT_ID is).
REGISTRY ?= $(if $(AWS_ACCOUNT_ID),$(AWS_ACCOUNT_ID).dkr.ecr.$(AWS_REGION).amazonaws.com/context-qa)
TAG ?= $(shell git rev-parse --short HEAD)
.PHONY: base-images
base-images: ## local stand-ins for the two registry base images (Debian via mmdebstrap, Node 24 from npm); skipped when current
	@tools/images/base-images
images: ## build both service images (docker or podman), check their size budget, write their SBOMs
	@REGISTRY=$(REGISTRY) TAG=$(TAG) tools/images/images

.PHONY: check-images
check-images: setup build images ## container tier: the pipeline suite with both services as containers (read-only, non-root), image checks
	@npx jest --ci --selectProjects containers

push: images ## push both images to ECR (needs AWS_ACCOUNT_ID, AWS_REGION and aws CLI credentials)
	aws ecr get-login-password --region $(AWS_REGION) | docker login --username AWS --password-stdin $(REGISTRY)
	docker push $(REGISTRY)/gateway-service:$(TAG)
	docker push $(REGISTRY)/ai-core-service:$(TAG)

clean: ## remove build output (keeps node_modules, Node 24 and the Dapr binaries)
	@npx tsc -b --clean
