/**
 * The fastify settings every onepad HTTP server shares (the link server and the relay): schemas are strict (extra
 * properties rejected, never stripped; no type coercion; no defaults filled into requests), no implicit HEAD
 * routes, and prototype or constructor poisoning in a JSON body is an error.
 */
export const STRICT_FASTIFY_OPTIONS = {
  exposeHeadRoutes: false,
  onProtoPoisoning: 'error',
  onConstructorPoisoning: 'error',
  ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
} as const;
