/**
 * helmet's headers, computed once. helmet is connect middleware that sets the same ~12 headers on every
 * response; running it per request costs a dozen setHeader calls. We run it once against a recorder and
 * splice the resulting name/value list into each writeHead.
 */
import helmet from 'helmet';

/** The agent's status page is plain HTML with inline styles and an EventSource; nothing else is needed. */
const STATUS_PAGE_CSP = {
  defaultSrc: ["'none'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", 'data:'],
  scriptSrc: ["'self'"],
  connectSrc: ["'self'"],
  baseUri: ["'none'"],
  formAction: ["'none'"],
  frameAncestors: ["'none'"],
};

export interface SecurityHeaders {
  /** Flat name/value list for writeHead. */
  list: readonly string[];
  /** Lowercase names: the agent's own values of these are replaced, not duplicated (CSP is added to, not replaced). */
  names: ReadonlySet<string>;
}

export function securityHeaders(): SecurityHeaders {
  const list: string[] = [];
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      list.push(name.toLowerCase(), Array.isArray(value) ? value.join(', ') : String(value));
    },
    removeHeader() {},
    getHeader() {
      return undefined;
    },
  };
  const middleware = helmet({
    contentSecurityPolicy: { useDefaults: false, directives: STATUS_PAGE_CSP },
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
    crossOriginEmbedderPolicy: true,
  });
  let failure: unknown;
  middleware({} as never, recorder as never, (err?: unknown) => {
    failure = err;
  });
  if (failure) throw failure instanceof Error ? failure : new Error(String(failure));
  const names = new Set<string>();
  for (let i = 0; i < list.length; i += 2) names.add(list[i]!);
  // The agent's own CSP passes alongside ours: a browser enforces every policy it gets, so the page keeps
  // the agent's stricter one (no inline styles) and ours still bounds anything the agent leaves open.
  names.delete('content-security-policy');
  names.add('x-powered-by');
  return { list: Object.freeze(list), names };
}
