/**
 * V8 settings for the gateway daemon. On Node 24 a gateway that has carried load keeps a young generation
 * of up to 3 × 32 MiB (semi-spaces grow to 32 MiB there, 16 MiB on Node 20) and gives little of it back:
 * 180 MiB RSS after `npm run bench:gateway` against 126 MiB on Node 20. Capping the semi-spaces at 8 MiB
 * brings Node 24 to 121–148 MiB with the same requests per second (docs/gateway.md, "Memory").
 *
 * The cap is read only when V8 sets up its heap, so it cannot be set from code the way the agent's
 * settings are (agent/heap-settings.ts): `outpost gateway start` replaces itself with its command line plus
 * the flag (core/daemon-runtime.ts). Where Node has no execve (Node 20, whose default is half Node 24's) or
 * the operator set a semi-space size of their own (NODE_OPTIONS or a node option), it starts as it is.
 */
import { SEMI_SPACE_CAP, type DaemonRuntime } from '../core/daemon-runtime.js';

/** The flags the gateway daemon runs with. */
export const GATEWAY_V8_FLAGS: readonly string[] = [SEMI_SPACE_CAP];

export const GATEWAY_RUNTIME: DaemonRuntime = { command: ['gateway', 'start'], heapFlags: GATEWAY_V8_FLAGS };
