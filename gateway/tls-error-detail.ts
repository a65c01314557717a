/**
 * OpenSSL's own words for a refused handshake, for the audit line's `detail`: the error code alone
 * (`ERR_SSL_…`, or none at all) often does not say what the client offered wrong.
 */

const escapeByte = (c: string): string => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;

/** Long enough for any OpenSSL reason and a Node message's first line; an audit line stays one short line. */
export const MAX_DETAIL = 160;

export function tlsErrorDetail(err: Error & { reason?: unknown }): string | undefined {
  // `reason` is OpenSSL's reason string ("unsupported protocol", "no shared cipher"); without one, the
  // first line of the message (a reset: "read ECONNRESET"; a timeout: "TLS handshake timeout").
  const raw = typeof err.reason === 'string' && err.reason !== '' ? err.reason : (err.message.split('\n')[0] ?? '');
  if (raw === '') return undefined;
  // Printable ASCII only: nothing the client sent can add a line or a control byte to the log.
  const text = raw.replace(/[^\x20-\x7e]/g, escapeByte);
  return text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL - 3)}...` : text;
}
