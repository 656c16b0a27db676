/**
 * Base URLs of the gateways the stacks of this process started (their public
 * port). The integration tests' fetch hook (test/support) validates every
 * response from them against the OpenAPI document. Kept apart from stack.ts
 * so that the hook can import it without the rest of the testkit.
 */
export const gatewayUrls = new Set<string>();
