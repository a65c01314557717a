import { defineErrors } from '../core/errors.js';

/** The agent's error codes: status, meaning and what the operator should do. ERRORS.md is generated from this. */
export const agentError = defineErrors('agent', {
  AGENT_INTERNAL: {
    status: 500,
    meaning: 'An unexpected failure inside the agent; the log has the details.',
    action: 'Check the agent log for the stack trace and report it with the request that caused it.',
  },
});
