/** Imported first by the suites reused here: their Stacks run the two services from their images, as containers. */
process.env['CONTEXT_QA_LAUNCH'] = 'container';
// The manifests' shutdown timings hold here: ai-core serves 42 s after SIGTERM (k8s/base/ai-core.yaml),
// so a test or hook that stops it needs more than the default 60 s.
jest.setTimeout(150_000);
