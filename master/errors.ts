import { defineErrors } from '../core/errors.js';

/** The master's error codes: status, meaning and what the operator should do. ERRORS.md is generated from this. */
export const masterError = defineErrors('master', {
  MASTER_INTERNAL: {
    status: 500,
    meaning: 'An unexpected failure inside the master; the log has the details.',
    action: 'Check the master log for the stack trace and report it with the request that caused it.',
  },
});
