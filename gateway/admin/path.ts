/** The paths the gateway keeps for itself: anything under /v1/gateway is never forwarded to the agent. */
export function isAdminPath(url: string | undefined): boolean {
  const path = (url ?? '').split('?')[0] ?? '';
  return /^\/v1\/gateway(\/|$)/.test(path);
}
