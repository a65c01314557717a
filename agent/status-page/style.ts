/**
 * The status page's stylesheet, served as /ui/style.css so the CSP can forbid inline styles and scripts
 * (`style-src 'self'`). Kept in TypeScript so the build ships it without a copy step.
 */
export const STYLESHEET = `
:root { color-scheme: light dark; --fg: #1d232a; --muted: #5f6b76; --bg: #fbfcfd; --line: #dde3e8; --accent: #0b5cad;
  --ok: #1a7f37; --bad: #c62828; --warn: #9a6700; --run: #0b5cad; --code-bg: #f1f4f7; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --muted: #9aa7b2; --bg: #0f1419; --line: #2a323b; --accent: #58a6ff; --code-bg: #161b22;
    --ok: #3fb950; --bad: #f85149; --warn: #d29922; --run: #58a6ff; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: baseline; gap: 1.5rem; flex-wrap: wrap; padding: .9rem 1.5rem; border-bottom: 1px solid var(--line); }
header h1 { margin: 0; font-size: 1.15rem; }
header h1 a { color: inherit; text-decoration: none; }
main { padding: 1rem 1.5rem 2rem; }
.facts { display: flex; gap: 1.25rem; flex-wrap: wrap; color: var(--muted); margin: 0; padding: 0; list-style: none; }
.facts b { color: var(--fg); font-weight: 600; }
nav.filters { margin: .25rem 0 1rem; display: flex; gap: .5rem; flex-wrap: wrap; }
nav.filters a { padding: .15rem .6rem; border: 1px solid var(--line); border-radius: 999px; color: var(--muted); text-decoration: none; }
nav.filters a.on { border-color: var(--accent); color: var(--accent); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; }
td.num { font-variant-numeric: tabular-nums; }
td code, dd code { font: 12.5px ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
a { color: var(--accent); }
.state { display: inline-block; padding: 0 .5rem; border-radius: 999px; font-size: .8rem; font-weight: 600; border: 1px solid currentColor; }
.state-succeeded { color: var(--ok); } .state-failed, .state-lost, .state-timed_out { color: var(--bad); }
.state-cancelled { color: var(--warn); } .state-running, .state-queued { color: var(--run); }
.empty { color: var(--muted); padding: 2rem 0; }
dl.job { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1.2rem; margin: 0 0 1.2rem; }
dl.job dt { color: var(--muted); }
dl.job dd { margin: 0; }
pre.output { background: var(--code-bg); border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1rem; overflow-x: auto;
  font: 12.5px/1.5 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; white-space: pre-wrap; word-break: break-all; min-height: 3rem; }
.note { color: var(--muted); font-size: .9rem; }
.ended { margin-top: .6rem; }
footer { padding: 0 1.5rem 1.5rem; color: var(--muted); font-size: .8rem; }
`;
