// The dashboard's stylesheet (inlined into the page).
export const DASHBOARD_STYLE = `
:root {
  --bg: #0b1020; --card: #121a2e; --card-2: #17213a; --line: #24304d;
  --text: #e6ebf5; --muted: #8c98b3; --accent: #2dd4bf; --accent-2: #60a5fa;
  --warn: #fbbf24; --bad: #f87171; --good: #34d399;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace;
  color-scheme: dark;
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
html, body { margin: 0; background: var(--bg); color: var(--text);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.top { display: flex; align-items: center; justify-content: space-between; padding: 14px 24px;
  border-bottom: 1px solid var(--line); background: linear-gradient(180deg, #0f1630, var(--bg)); position: sticky; top: 0; z-index: 2; }
.brand { display: flex; align-items: center; gap: 10px; }
.logo { width: 26px; height: 26px; color: var(--text); }
.name { font-weight: 700; font-size: 18px; letter-spacing: .2px; }
.version { color: var(--muted); font-size: 12px; padding: 2px 8px; border: 1px solid var(--line); border-radius: 999px; }
.meta { display: flex; gap: 14px; align-items: center; }
.pill { font-size: 12px; padding: 3px 10px; border-radius: 999px; border: 1px solid var(--line); }
.pill::before { content: ""; display: inline-block; width: 7px; height: 7px; border-radius: 50%; margin-right: 6px; vertical-align: 1px; background: currentColor; }
.pill-live { color: var(--good); border-color: rgba(52,211,153,.35); }
.pill-live::before { animation: pulse 1.6s ease-in-out infinite; }
.pill-down { color: var(--bad); border-color: rgba(248,113,113,.4); }
.pill-wait { color: var(--warn); }
@keyframes pulse { 0%, 100% { opacity: 1; } 50% { opacity: .25; } }
main { padding: 20px 24px 40px; max-width: 1480px; margin: 0 auto; display: grid; gap: 16px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 16px 18px; min-width: 0; }
h2 { margin: 0 0 10px; font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: .08em; color: var(--muted); }
h3 { margin: 16px 0 6px; font-size: 12px; font-weight: 600; color: var(--muted); }
.hint { text-transform: none; letter-spacing: 0; font-weight: 400; color: #66728d; margin-left: 6px; }
.kpis { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 16px; }
.row { display: grid; grid-template-columns: 1.2fr 1fr 1fr; gap: 16px; }
@media (max-width: 1100px) { .kpis { grid-template-columns: repeat(2, minmax(0, 1fr)); } .row { grid-template-columns: 1fr; } }
.big { font-size: 34px; font-weight: 700; letter-spacing: -.5px; font-variant-numeric: tabular-nums; }
.sub { color: var(--muted); font-size: 12.5px; margin-top: 2px; }
.small { font-size: 12px; }
.muted { color: var(--muted); }
.spark { width: 100%; height: 48px; margin-top: 10px; display: block; }
.spark .line { fill: none; stroke: var(--accent); stroke-width: 2; vector-effect: non-scaling-stroke; }
.spark .area { fill: rgba(45,212,191,.12); stroke: none; }
#spark-rps .line { stroke: var(--accent-2); }
#spark-rps .area { fill: rgba(96,165,250,.12); }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
.lat th { font-size: 11px; color: var(--muted); font-weight: 500; text-align: right; padding: 2px 6px; }
.lat td { padding: 6px 6px; text-align: right; border-top: 1px solid var(--line); font-size: 15px; }
.lat td:first-child { text-align: left; color: var(--muted); font-size: 13px; }
.dot { display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 7px; }
.dot-hit { background: var(--good); } .dot-miss { background: var(--warn); } .dot-origin { background: var(--accent-2); }
.bar { height: 8px; border-radius: 99px; background: var(--card-2); overflow: hidden; margin-top: 12px; border: 1px solid var(--line); }
.bar .fill { height: 100%; width: 0; background: linear-gradient(90deg, var(--accent), var(--accent-2)); transition: width .4s ease; }
.bar .fill.hot { background: linear-gradient(90deg, var(--warn), var(--bad)); }
.pools { display: grid; gap: 14px; }
.pool-head { display: flex; justify-content: space-between; gap: 8px; font-size: 13px; }
.pool-head .target { font-family: var(--mono); font-size: 12.5px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.pool-figures { color: var(--muted); font-size: 12px; margin-top: 4px; }
.pool-figures b { color: var(--text); font-weight: 600; }
.pool-figures .bad { color: var(--bad); }
.stack { display: flex; height: 10px; border-radius: 99px; overflow: hidden; background: var(--card-2); border: 1px solid var(--line); margin-top: 8px; }
.stack div { height: 100%; }
.seg-ttl { background: var(--good); } .seg-swr { background: #a3e635; } .seg-miss { background: var(--warn); }
.seg-none { background: var(--accent-2); } .seg-error { background: var(--bad); }
.legend { list-style: none; padding: 0; margin: 10px 0 0; display: flex; flex-wrap: wrap; gap: 6px 16px; font-size: 12.5px; color: var(--muted); }
.legend b { color: var(--text); font-weight: 600; font-variant-numeric: tabular-nums; }
.reasons { list-style: none; padding: 0; margin: 0; display: grid; gap: 4px; }
.reasons li { display: flex; justify-content: space-between; font-size: 13px; border-bottom: 1px dashed var(--line); padding: 3px 0; }
.reasons .door { color: var(--muted); font-size: 11px; margin-right: 6px; text-transform: uppercase; }
form { display: grid; gap: 10px; }
.field { display: grid; gap: 4px; font-size: 12px; color: var(--muted); }
input[type=text], input[type=password], select { background: var(--card-2); color: var(--text); border: 1px solid var(--line);
  border-radius: 8px; padding: 8px 10px; font: inherit; font-size: 13.5px; width: 100%; }
input:focus, select:focus, button:focus-visible { outline: 2px solid rgba(45,212,191,.5); outline-offset: 1px; }
.seg { display: inline-flex; border: 1px solid var(--line); border-radius: 8px; overflow: hidden; width: fit-content; }
.seg label, .seg button { padding: 6px 12px; font-size: 12.5px; color: var(--muted); background: transparent; border: 0; cursor: pointer; font: inherit; font-size: 12.5px; }
.seg label + label, .seg button + button { border-left: 1px solid var(--line); }
.seg label:has(input:checked), .seg button.on { background: var(--card-2); color: var(--text); }
/* The radios stay in the page (keyboard, screen readers); their labels are the buttons. */
.seg { position: relative; }
.seg input { position: absolute; opacity: 0; width: 1px; height: 1px; margin: 0; pointer-events: none; }
.seg label:has(input:focus-visible) { outline: 2px solid rgba(45,212,191,.5); outline-offset: -2px; }
.check { font-size: 12.5px; color: var(--muted); display: flex; gap: 6px; align-items: center; }
button[type=submit] { background: var(--accent); color: #04201c; border: 0; border-radius: 8px; padding: 9px 14px; font-weight: 700; cursor: pointer; font: inherit; font-weight: 700; }
button[type=submit]:disabled { opacity: .45; cursor: not-allowed; }
.result { font-size: 13px; min-height: 1.4em; }
.result.ok { color: var(--good); } .result.err { color: var(--bad); }
.shapes-head { display: flex; justify-content: space-between; align-items: center; gap: 12px; margin-bottom: 8px; }
.shapes-head h2 { margin: 0; }
.table-wrap { overflow-x: auto; }
.shapes-table th { font-size: 11px; color: var(--muted); font-weight: 500; text-transform: uppercase; letter-spacing: .06em; text-align: right; padding: 8px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; }
.shapes-table td { padding: 9px 10px; text-align: right; border-bottom: 1px solid var(--line); vertical-align: top; white-space: nowrap; }
.shapes-table .l { text-align: left; }
.shapes-table tr:hover td { background: rgba(255,255,255,.02); }
.shapes-table tr.empty td { text-align: center; color: var(--muted); padding: 28px; }
.shape { white-space: normal !important; min-width: 340px; max-width: 640px; }
.shape .label { font-weight: 600; }
.shape .tags { margin-left: 6px; }
.tag { font-size: 10.5px; padding: 1px 6px; border-radius: 4px; border: 1px solid var(--line); color: var(--muted); margin-left: 4px; text-transform: uppercase; letter-spacing: .04em; }
.tag.http { color: var(--accent-2); border-color: rgba(96,165,250,.35); }
.tag.pg { color: #c084fc; border-color: rgba(192,132,252,.35); }
.sql { display: block; font-family: var(--mono); font-size: 12px; color: #aab6cf; margin-top: 3px; overflow: hidden;
  text-overflow: ellipsis; display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; word-break: break-all; }
.ratio { display: flex; align-items: center; gap: 8px; min-width: 130px; }
.ratio .bar { margin: 0; width: 70px; height: 6px; }
.ratio .fill { transition: none; }
.reason { font-size: 12px; padding: 2px 8px; border-radius: 99px; background: var(--card-2); border: 1px solid var(--line); color: var(--warn); }
.reason.none { color: var(--muted); background: none; border-color: transparent; }
code { font-family: var(--mono); font-size: 12px; background: var(--card-2); padding: 1px 5px; border-radius: 4px; }
`
