import { defineErrors } from '../core/errors.js';

/** The gateway's error codes: status, meaning and what the operator should do. ERRORS.md is generated from this. */
export const gatewayError = defineErrors('gateway', {
  GATEWAY_INTERNAL: {
    status: 500,
    meaning: 'An unexpected failure inside the gateway; the log has the details.',
    action: 'Check the gateway log for the stack trace and report it with the request that caused it.',
  },
});
