import t from 'tap';
import { MAX_DETAIL, tlsErrorDetail } from '../../gateway/tls-error-detail.js';

const sslError = (reason: string | undefined, message: string): Error & { reason?: unknown } => Object.assign(new Error(message), reason === undefined ? {} : { reason });

t.test('ok: OpenSSL\'s reason when the error has one', async (t) => {
  t.equal(tlsErrorDetail(sslError('unsupported protocol', '80BC:error:0A000102:SSL routines:tls_early_post_process_client_hello:unsupported protocol:statem_srvr.c:1664:\n')), 'unsupported protocol');
});

t.test('ok: the first line of the message without one', async (t) => {
  t.equal(tlsErrorDetail(sslError(undefined, 'read ECONNRESET')), 'read ECONNRESET');
  t.equal(tlsErrorDetail(sslError(undefined, 'first\nsecond')), 'first');
  t.equal(tlsErrorDetail(sslError('', '')), undefined);
});

t.test('fail: control and non-ASCII bytes are escaped, the length is bounded', async (t) => {
  t.equal(tlsErrorDetail(sslError('bad\r\x00byte\u00e9', 'x')), 'bad\\x0d\\x00byte\\xe9');
  const long = tlsErrorDetail(sslError('x'.repeat(5000), 'x')) ?? '';
  t.equal(long.length, MAX_DETAIL);
  t.match(long, /\.\.\.$/);
});
