/** Method check within the rule that applied: monitoring rules allow GET only. */
import type { RequestCheck } from './check.js';

export interface MethodPolicy extends RequestCheck {
  readonly kind: 'methodPolicy';
  readonly methods: readonly string[];
}

export function methodPolicy(methods: readonly string[]): MethodPolicy {
  const allowGet = methods.includes('GET');
  const allowPost = methods.includes('POST');
  return {
    kind: 'methodPolicy',
    phase: 'request',
    methods: [...methods],
    // Two comparisons instead of a Set lookup: this runs on every request.
    run: (method) => ((method === 'GET' && allowGet) || (method === 'POST' && allowPost) ? undefined : 'METHOD_NOT_ALLOWED'),
  };
}
