/**
 * How a client certificate's identity is written and compared, shared by the gateway (which pins clients
 * in `access:`) and the agent (which grants permissions by the identity the gateway forwards): one
 * definition, so a rule that matches at the gateway matches the same client at the agent.
 */

/** SHA-256 thumbprint canonical form (cross-part contract): uppercase hex, no colons, 64 characters. */
export function canonicalThumbprint(text: string): string {
  const t = text.replace(/[:\s]/g, '').toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(t)) throw new Error(`"${text}" is not a SHA-256 thumbprint (64 hex digits, colons allowed)`);
  return t;
}

/** `CN=master, O=Example` or `/CN=master/O=Example` → ['CN=master', 'O=Example']. */
export function subjectPairsOf(text: string): string[] {
  const parts = text.startsWith('/') ? text.slice(1).split('/') : text.split(/,(?![^=,]*\\)/);
  return parts
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .map((p) => {
      const eq = p.indexOf('=');
      if (eq <= 0) throw new Error(`"${text}": "${p}" is not KEY=value`);
      return `${p.slice(0, eq).trim().toUpperCase()}=${p.slice(eq + 1).trim()}`;
    });
}

/** True when a certificate subject carries every attribute of the pinned one (`CN=master` matches `CN=master,O=Example`). */
export function subjectMatches(pinned: readonly string[], subject: string): boolean {
  let have: string[];
  try {
    have = subjectPairsOf(subject);
  } catch {
    return false;
  }
  return pinned.every((p) => have.includes(p));
}
