import { defineErrors } from '../core/errors.js';

/** The ca's error codes: status, meaning and what the operator should do. ERRORS.md is generated from this. */
export const caError = defineErrors('ca', {
  CA_INTERNAL: {
    status: 500,
    meaning: 'An unexpected failure inside the ca; the log has the details.',
    action: 'Check the ca log for the stack trace and report it with the request that caused it.',
  },
});
