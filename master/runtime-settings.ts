/**
 * V8 settings for `outpost job run`. Its fan-out allocates quickly (a TLS connection and four requests per
 * host), and on Node 24 the young generation grows to 3 × 32 MiB and stays there: at 5,000 hosts and
 * fan-out 256 the master peaked at 328 MB RSS on Node 24 against 181 MB on Node 20, whose semi-spaces stop
 * at 16 MiB. With the gateway's 8 MiB cap it peaked at 226–232 MB in two runs, its CPU per host within
 * the runs' spread (docs/master.md, "Thousands of hosts"). The cap is read when V8 sets up its heap, so
 * `job run` replaces itself with its command line plus the flag where Node can (core/daemon-runtime.ts);
 * its compilers stay on, it is busy from the start.
 * A scheduler that calls runJobs() in its own process chooses its own flags.
 */
import { SEMI_SPACE_CAP, type DaemonRuntime } from '../core/daemon-runtime.js';

export const MASTER_RUNTIME: DaemonRuntime = { command: ['job', 'run'], heapFlags: [SEMI_SPACE_CAP], pauseCompilers: false };
