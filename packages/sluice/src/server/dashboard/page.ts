// The dashboard: one self-contained HTML page (inline CSS and vanilla JS, no build step, nothing
// fetched from elsewhere) that polls /api/stats every second. Served by ../admin.ts with a
// Content-Security-Policy that allows exactly this page's script, by hash.
import { createHash } from 'node:crypto'
import { DASHBOARD_SCRIPT } from './script.js'
import { DASHBOARD_STYLE } from './style.js'

export interface DashboardPage {
  html: string
  /** `sha256-…` source expression of the inline script, for the CSP header. */
  scriptHash: string
}

export function dashboardPage(version: string): DashboardPage {
  const scriptHash = `sha256-${createHash('sha256').update(DASHBOARD_SCRIPT, 'utf8').digest('base64')}`
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sluice · dashboard</title>
<link rel="icon" href="data:,">
<style>${DASHBOARD_STYLE}</style>
</head>
<body>
<header class="top">
  <div class="brand">
    <svg class="logo" viewBox="0 0 32 32" aria-hidden="true"><path d="M4 9h24M4 16h24M4 23h24" stroke="currentColor" stroke-width="3" stroke-linecap="round"/><path d="M11 5v22" stroke="var(--accent)" stroke-width="3" stroke-linecap="round"/></svg>
    <span class="name">Sluice</span>
    <span class="version">v${escapeHtml(version)}</span>
  </div>
  <div class="meta">
    <span id="uptime" class="muted">uptime —</span>
    <span id="live" class="pill pill-wait" title="polls /api/stats every second">connecting…</span>
  </div>
</header>

<main>
  <section class="kpis">
    <article class="card kpi">
      <h2>Hit rate <span class="hint" id="hitrate-scope">last 10 s</span></h2>
      <div class="big" id="kpi-hitrate">—</div>
      <div class="sub" id="kpi-hitrate-sub">no cache lookups yet</div>
      <svg class="spark" id="spark-hitrate" viewBox="0 0 240 48" preserveAspectRatio="none"><path class="area"/><path class="line"/></svg>
    </article>
    <article class="card kpi">
      <h2>Requests / s</h2>
      <div class="big" id="kpi-rps">—</div>
      <div class="sub"><span id="kpi-requests" data-value="0">0</span> requests since start · <span id="kpi-doors"></span></div>
      <svg class="spark" id="spark-rps" viewBox="0 0 240 48" preserveAspectRatio="none"><path class="area"/><path class="line"/></svg>
    </article>
    <article class="card kpi">
      <h2>Latency <span class="hint" id="latency-scope">last 20 s</span></h2>
      <table class="lat">
        <thead><tr><th></th><th>p50</th><th>p99</th><th>n</th></tr></thead>
        <tbody>
          <tr><td><span class="dot dot-hit"></span>hit</td><td id="lat-hit-p50">—</td><td id="lat-hit-p99">—</td><td id="lat-hit-n" class="muted">0</td></tr>
          <tr><td><span class="dot dot-miss"></span>miss</td><td id="lat-miss-p50">—</td><td id="lat-miss-p99">—</td><td id="lat-miss-n" class="muted">0</td></tr>
          <tr><td><span class="dot dot-origin"></span>uncached</td><td id="lat-origin-p50">—</td><td id="lat-origin-p99">—</td><td id="lat-origin-n" class="muted">0</td></tr>
        </tbody>
      </table>
    </article>
    <article class="card kpi">
      <h2>Cache</h2>
      <div class="big" id="kpi-entries">—</div>
      <div class="sub">entries · <span id="kpi-bytes">—</span></div>
      <div class="bar" title="bytes used of the cache bound"><div class="fill" id="cache-fill"></div></div>
      <div class="sub small" id="kpi-cache-detail"></div>
    </article>
  </section>

  <section class="row">
    <article class="card">
      <h2>Connection pools</h2>
      <div id="pools" class="pools"><p class="muted">—</p></div>
      <h3>Answers by cache status <span class="hint">since start, both doors</span></h3>
      <div class="stack" id="status-bar"></div>
      <ul class="legend" id="status-legend"></ul>
    </article>
    <article class="card">
      <h2>Time saved by the cache</h2>
      <div class="big" id="kpi-saved">—</div>
      <div class="sub">hits × (mean miss latency − hit latency), summed over the shapes shown</div>
      <h3>Not cached, by reason</h3>
      <ul id="reasons" class="reasons"><li class="muted">nothing yet</li></ul>
    </article>
    <article class="card">
      <h2>Invalidate</h2>
      <form id="invalidate-form" autocomplete="off">
        <label class="field">Tenant
          <select id="inv-tenant"><option value="">all tenants</option></select>
        </label>
        <div class="seg" role="radiogroup">
          <label><input type="radio" name="inv-mode" value="tags" checked> tags</label>
          <label><input type="radio" name="inv-mode" value="all"> everything</label>
        </div>
        <label class="field" id="inv-tags-field">Tags <span class="hint">comma-separated, up to 5</span>
          <input id="inv-tags" type="text" placeholder="users, posts" spellcheck="false">
        </label>
        <label class="field">Admin token
          <input id="inv-token" type="password" placeholder="Authorization: Bearer …" spellcheck="false">
        </label>
        <label class="check"><input type="checkbox" id="inv-remember"> remember for this tab</label>
        <button type="submit" id="inv-submit">Invalidate</button>
        <div id="inv-result" class="result" role="status" aria-live="polite"></div>
        <p class="muted small" id="inv-disabled" hidden>Disabled on this node: no admin token is configured (admin.token, SLUICE_ADMIN_TOKEN or --admin-token).</p>
      </form>
    </article>
  </section>

  <section class="card shapes">
    <div class="shapes-head">
      <h2>Top query shapes <span class="hint" id="shapes-count"></span></h2>
      <div class="seg" id="sort">
        <button type="button" data-sort="count" class="on">busiest</button>
        <button type="button" data-sort="saved">most saved</button>
        <button type="button" data-sort="recent">most recent</button>
      </div>
    </div>
    <div class="table-wrap">
      <table class="shapes-table">
        <thead>
          <tr><th class="l">Query shape</th><th>Count</th><th class="l">Hit rate</th><th>p50</th><th>p99</th><th>Saved</th><th class="l">Why not cached</th></tr>
        </thead>
        <tbody id="shapes"><tr class="empty"><td colspan="7">No queries yet. Send some traffic through the HTTP or Postgres door.</td></tr></tbody>
      </table>
    </div>
    <p class="muted small">Parameters are never recorded: shapes are the SQL text with every literal replaced by <code>?</code>.</p>
  </section>
</main>
<script>${DASHBOARD_SCRIPT}</script>
</body>
</html>
`
  return { html, scriptHash }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
