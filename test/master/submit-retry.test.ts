import t from 'tap';
import { masterError } from '../../master/errors.js';
import { transportError } from '../../master/client.js';
import { failedInTransit, submitRetryDelay, TRANSIT_ATTEMPTS } from '../../master/submit-retry.js';

const reset = masterError('MASTER_AGENT_UNREACHABLE', 'connection closed by the gateway (ECONNRESET)');
const gateway = (status: number) => masterError('MASTER_AGENT_ERROR', `HTTP ${status}`, { details: { status, upstreamCode: `HTTP_${status}` } });

t.test('in transit: reset, refused, timeouts, 502/503/504 and a broken answer', async (t) => {
  for (const e of [reset, masterError('MASTER_REQUEST_TIMEOUT', 'x'), masterError('MASTER_CONNECT_TIMEOUT', 'x'), gateway(502), gateway(503), gateway(504), masterError('MASTER_AGENT_ERROR', 'answer is not JSON')]) {
    t.ok(failedInTransit(e), e.message);
  }
});

t.test('not in transit: refusals and answers the agent gave', async (t) => {
  for (const e of [gateway(500), gateway(507), masterError('MASTER_REQUEST_REFUSED', 'x', { details: { status: 409 } }), masterError('MASTER_TLS_FAILED', 'x'), masterError('MASTER_ACCESS_DENIED', 'x'), new Error('other')]) {
    t.notOk(failedInTransit(e), e.message);
  }
});

t.test('keyed submissions back off exponentially with jitter, capped, and give up after the last attempt', async (t) => {
  const delays = [];
  for (let attempt = 1; attempt < TRANSIT_ATTEMPTS; attempt++) delays.push(submitRetryDelay(reset, attempt, true, 0.99999));
  t.same(delays, [250, 500, 1000, 2000, 4000, 5000, 5000]);
  t.equal(submitRetryDelay(reset, 1, true, 0), 125, 'at least half the step');
  t.equal(submitRetryDelay(reset, TRANSIT_ATTEMPTS, true, 0.5), null);
});

t.test('without a key nothing that may have arrived is resent', async (t) => {
  t.equal(submitRetryDelay(reset, 1, false, 0.5), null);
});

t.test('a full queue is waited for as the agent asks, 5 attempts', async (t) => {
  const busy = masterError('MASTER_AGENT_BUSY', 'x', { details: { retryAfter: '3' } });
  t.equal(submitRetryDelay(busy, 1, false, 0.5), 3000);
  t.equal(submitRetryDelay(masterError('MASTER_AGENT_BUSY', 'x', { details: { retryAfter: '600' } }), 1, true, 0.5), 30_000);
  t.equal(submitRetryDelay(busy, 5, true, 0.5), null);
});

t.test('a host never reached at the first attempt is not resent; after an attempt that may have arrived it is', async (t) => {
  const refused = masterError('MASTER_AGENT_UNREACHABLE', 'ECONNREFUSED', { details: { connected: false } });
  const silent = masterError('MASTER_CONNECT_TIMEOUT', 'no TLS connection', { details: { connected: false } });
  t.equal(submitRetryDelay(refused, 1, true, 0.5), null, 'refused at once: reported unreachable');
  t.equal(submitRetryDelay(silent, 1, true, 0.5), null, 'connect timeout at once: reported unreachable');
  t.equal(submitRetryDelay(refused, 2, true, 0.99999), 500, 'refused while resending: the gateway is restarting');
  t.equal(submitRetryDelay(silent, 3, true, 0.99999), 1000);
});

t.test('transportError marks the failures that made no connection', async (t) => {
  const refused = transportError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'https://h:1');
  const timeout = transportError(Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' }), 'https://h:1');
  const reset = transportError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'https://h:1');
  t.match(refused, { code: 'MASTER_AGENT_UNREACHABLE', details: { connected: false } });
  t.match(timeout, { code: 'MASTER_CONNECT_TIMEOUT', details: { connected: false } });
  t.match(reset, { code: 'MASTER_AGENT_UNREACHABLE' });
  const early = transportError(Object.assign(new Error('Client network socket disconnected before secure TLS connection was established'), { code: 'ECONNRESET' }), 'https://h:1');
  t.match(early, { code: 'MASTER_AGENT_UNREACHABLE', details: { connected: false } }, 'a reset before any TLS answer is not a TLS refusal');
  t.notOk((reset as { details?: { connected?: boolean } }).details?.connected === false, 'a reset may come after the request was sent');
});
