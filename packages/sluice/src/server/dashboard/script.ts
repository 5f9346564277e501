// The dashboard's script (inlined into the page; the admin listener's CSP admits it by hash).
// Plain browser JavaScript, no dependencies. Everything that comes from the server is put into
// the page as text (textContent), never as HTML: query shapes are client-controlled strings.
// (Written without template literals, so that it can live in this TypeScript string.)
export const DASHBOARD_SCRIPT = String.raw`
(function () {
  'use strict';
  var POLL_MS = 1000, HISTORY = 120, WINDOW = 10, TOP = 25;
  var $ = function (id) { return document.getElementById(id); };
  var samples = [];
  var sort = 'count';
  var tenantsShown = '';
  var token = sessionStorage.getItem('sluice-admin-token') || '';
  if (token) { $('inv-token').value = token; $('inv-remember').checked = true; }

  function num(n) { return n == null ? '—' : Math.round(n).toLocaleString('en-US'); }
  function pct(x) { return x == null ? '—' : (x * 100).toFixed(x >= 0.9995 || x === 0 ? 0 : 1) + '%'; }
  function ms(v) {
    if (v == null) return '—';
    if (v < 1) return Math.round(v * 1000) + ' µs';
    if (v < 10) return v.toFixed(2) + ' ms';
    if (v < 1000) return v.toFixed(v < 100 ? 1 : 0) + ' ms';
    return (v / 1000).toFixed(2) + ' s';
  }
  function saved(v) {
    if (!v) return '—';
    if (v < 1000) return ms(v);
    var s = v / 1000;
    if (s < 120) return s.toFixed(1) + ' s';
    if (s < 7200) return (s / 60).toFixed(1) + ' min';
    return (s / 3600).toFixed(1) + ' h';
  }
  function bytes(b) {
    if (b == null) return '—';
    var u = ['B', 'KB', 'MB', 'GB'], i = 0;
    while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
    return (i === 0 ? b : b.toFixed(b < 10 ? 1 : 0)) + ' ' + u[i];
  }
  function duration(s) {
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60), sec = s % 60;
    return d ? d + 'd ' + h + 'h' : h ? h + 'h ' + m + 'm' : m ? m + 'm ' + sec + 's' : sec + 's';
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function setText(id, text) { var e = $(id); if (e.textContent !== text) e.textContent = text; }

  function sparkline(id, values, max) {
    var svg = $(id), w = 240, h = 48, n = values.length;
    if (n < 2) return;
    var top = max || Math.max.apply(null, values.concat([1e-9]));
    // Fills from the right; the first half minute is spread wider so a young line is readable.
    var span = Math.max(n, Math.min(HISTORY, 30));
    var pts = values.map(function (v, i) {
      var x = (span - n + i) / (span - 1) * w;
      var y = h - 3 - (Math.max(0, v) / top) * (h - 6);
      return x.toFixed(1) + ',' + y.toFixed(1);
    });
    svg.querySelector('.line').setAttribute('d', 'M' + pts.join('L'));
    var x0 = ((span - n) / (span - 1) * w).toFixed(1);
    svg.querySelector('.area').setAttribute('d', 'M' + x0 + ',' + h + 'L' + pts.join('L') + 'L' + w + ',' + h + 'Z');
  }

  function live(ok, text) {
    var p = $('live');
    p.className = 'pill ' + (ok ? 'pill-live' : 'pill-down');
    p.textContent = text;
  }

  function render(s) {
    var now = Date.now();
    var t = s.totals;
    samples.push({ at: now, requests: t.requests, hits: t.hits, misses: t.misses });
    if (samples.length > HISTORY + 1) samples.shift();

    setText('uptime', 'uptime ' + duration(s.uptimeSeconds));
    var req = $('kpi-requests');
    req.dataset.value = String(t.requests);
    setText('kpi-requests', num(t.requests));
    setText('kpi-doors', 'HTTP ' + num(t.byDoor.http || 0) + ' · wire ' + num(t.byDoor.pg || 0));

    // Per-second series from consecutive samples.
    var rps = [], ratio = [];
    for (var i = 1; i < samples.length; i++) {
      var a = samples[i - 1], b = samples[i], dt = Math.max(0.001, (b.at - a.at) / 1000);
      rps.push((b.requests - a.requests) / dt);
      var lk = (b.hits - a.hits) + (b.misses - a.misses);
      ratio.push(lk > 0 ? (b.hits - a.hits) / lk : (ratio.length ? ratio[ratio.length - 1] : 0));
    }
    setText('kpi-rps', rps.length ? (rps[rps.length - 1] >= 100 ? num(rps[rps.length - 1]) : rps[rps.length - 1].toFixed(1)) : '—');
    sparkline('spark-rps', rps);

    // Hit rate over the last WINDOW samples; the whole run when the window saw no lookups.
    var from = samples[Math.max(0, samples.length - 1 - WINDOW)], last = samples[samples.length - 1];
    var wh = last.hits - from.hits, wm = last.misses - from.misses;
    if (wh + wm > 0) {
      setText('kpi-hitrate', pct(wh / (wh + wm)));
      setText('hitrate-scope', 'last ' + Math.round((last.at - from.at) / 1000) + ' s');
      setText('kpi-hitrate-sub', num(wh) + ' hits · ' + num(wm) + ' misses');
    } else {
      setText('kpi-hitrate', pct(t.hitRate));
      setText('hitrate-scope', 'since start');
      setText('kpi-hitrate-sub', t.hitRate == null ? 'no cache lookups yet' : num(t.hits) + ' hits · ' + num(t.misses) + ' misses');
    }
    $('kpi-hitrate').dataset.value = t.hitRate == null ? '' : String(t.hitRate);
    sparkline('spark-hitrate', ratio, 1);

    var lat = t.recentLatency;
    setText('latency-scope', 'last ' + t.recentWindowSeconds + ' s');
    ['hit', 'miss', 'origin'].forEach(function (k) {
      setText('lat-' + k + '-p50', ms(lat[k].p50Ms));
      setText('lat-' + k + '-p99', ms(lat[k].p99Ms));
      setText('lat-' + k + '-n', num(lat[k].count));
    });

    var c = s.cache;
    setText('kpi-entries', num(c.entries));
    setText('kpi-bytes', bytes(c.bytes) + ' of ' + bytes(c.maxBytes));
    var used = c.maxBytes ? c.bytes / c.maxBytes : 0;
    var fill = $('cache-fill');
    fill.style.width = Math.min(100, used * 100).toFixed(1) + '%';
    fill.classList.toggle('hot', used > 0.9);
    setText('kpi-cache-detail', num(c.fills) + ' fills · ' + num(c.evictions) + ' evictions · ' + num(c.fillsFenced) + ' fenced · ' + num(c.singleFlightJoins) + ' joined');

    renderPools(s.pools);
    renderStatuses(t.statuses, t.requests);
    renderReasons(s.notCached);
    renderShapes(s.shapes);
    renderTenants(s.tenants, s.admin.invalidate);
  }

  function renderPools(pools) {
    var box = $('pools');
    box.textContent = '';
    if (!pools.length) { box.appendChild(el('p', 'muted', 'no origins')); return; }
    pools.forEach(function (p) {
      var d = el('div', 'pool');
      d.dataset.origin = p.origin;
      var head = el('div', 'pool-head');
      head.appendChild(el('span', 'target', p.target));
      head.appendChild(el('span', 'muted', p.tenants.join(', ')));
      d.appendChild(head);
      var bar = el('div', 'bar'), f = el('div', 'fill');
      var u = p.limit ? p.inUse / p.limit : 0;
      f.style.width = Math.min(100, u * 100).toFixed(1) + '%';
      if (u >= 0.9 || p.waiting > 0) f.classList.add('hot');
      bar.appendChild(f);
      bar.title = p.inUse + ' of ' + p.limit + ' connections in use';
      d.appendChild(bar);
      var fig = el('div', 'pool-figures');
      [['in use', p.inUse + ' / ' + p.limit], ['idle', p.idle], ['waiting', p.waiting], ['timeouts', p.timeouts]].forEach(function (kv, i) {
        if (i) fig.appendChild(document.createTextNode(' · '));
        fig.appendChild(document.createTextNode(kv[0] + ' '));
        var b = el('b', (kv[0] === 'waiting' || kv[0] === 'timeouts') && Number(kv[1]) > 0 ? 'bad' : '', String(kv[1]));
        fig.appendChild(b);
      });
      d.appendChild(fig);
      box.appendChild(d);
    });
  }

  var STATUS = [['ttl', 'fresh hit'], ['swr', 'stale hit'], ['miss', 'miss'], ['none', 'not cached'], ['error', 'error']];
  function renderStatuses(st, total) {
    var bar = $('status-bar'), legend = $('status-legend');
    bar.textContent = '';
    legend.textContent = '';
    STATUS.forEach(function (kv) {
      var n = st[kv[0]] || 0;
      if (total > 0 && n > 0) {
        var seg = el('div', 'seg-' + kv[0]);
        seg.style.width = (n / total * 100).toFixed(2) + '%';
        seg.title = kv[1] + ': ' + num(n);
        bar.appendChild(seg);
      }
      var li = el('li');
      li.appendChild(el('span', 'dot seg-' + kv[0]));
      li.appendChild(document.createTextNode(kv[1] + ' '));
      li.appendChild(el('b', 'status-' + kv[0], num(n)));
      legend.appendChild(li);
    });
  }

  function renderReasons(list) {
    var ul = $('reasons');
    ul.textContent = '';
    if (!list.length) { ul.appendChild(el('li', 'muted', 'nothing yet')); return; }
    list.slice(0, 6).forEach(function (r) {
      var li = el('li');
      var left = el('span');
      left.appendChild(el('span', 'door', r.door === 'pg' ? 'wire' : r.door));
      left.appendChild(document.createTextNode(r.reason));
      li.appendChild(left);
      li.appendChild(el('b', '', num(r.count)));
      ul.appendChild(li);
    });
  }

  function renderShapes(shapes) {
    var body = $('shapes');
    setText('shapes-count', shapes.tracked + ' tracked' + (shapes.evicted ? ' · ' + shapes.evicted + ' dropped' : ''));
    var total = 0;
    shapes.top.forEach(function (r) { total += r.savedMs; });
    setText('kpi-saved', saved(total));
    body.textContent = '';
    if (!shapes.top.length) {
      var tr0 = el('tr', 'empty'), td0 = el('td', '', 'No queries yet. Send some traffic through the HTTP or Postgres door.');
      td0.colSpan = 7; tr0.appendChild(td0); body.appendChild(tr0);
      return;
    }
    shapes.top.forEach(function (r) {
      var tr = el('tr');
      tr.dataset.shapeId = r.id;
      var shape = el('td', 'l shape');
      shape.appendChild(el('span', 'label', r.label));
      var tags = el('span', 'tags');
      tags.appendChild(el('span', 'tag ' + r.door, r.door === 'pg' ? 'wire' : 'http'));
      tags.appendChild(el('span', 'tag', r.tenant));
      shape.appendChild(tags);
      if (r.sql) { var sql = el('span', 'sql', r.sql); sql.title = r.sql; shape.appendChild(sql); }
      tr.appendChild(shape);
      tr.appendChild(el('td', 'count', num(r.count)));
      var rc = el('td', 'l');
      var wrap = el('div', 'ratio');
      var bar = el('div', 'bar'), f = el('div', 'fill');
      f.style.width = ((r.hitRatio || 0) * 100).toFixed(1) + '%';
      bar.appendChild(f);
      wrap.appendChild(bar);
      wrap.appendChild(el('span', 'hitratio', pct(r.hitRatio)));
      rc.appendChild(wrap);
      tr.appendChild(rc);
      tr.appendChild(el('td', '', ms(r.p50Ms)));
      tr.appendChild(el('td', '', ms(r.p99Ms)));
      tr.appendChild(el('td', '', saved(r.savedMs)));
      var why = el('td', 'l');
      var pill = el('span', 'reason' + (r.lastReason ? '' : ' none'), r.lastReason || (r.hits || r.misses ? 'cached' : '—'));
      if (r.lastReasonAt) pill.title = 'last seen ' + new Date(r.lastReasonAt).toLocaleTimeString();
      why.appendChild(pill);
      tr.appendChild(why);
      body.appendChild(tr);
    });
  }

  function renderTenants(tenants, enabled) {
    var key = tenants.join('\u0000');
    if (key !== tenantsShown) {
      tenantsShown = key;
      var sel = $('inv-tenant'), keep = sel.value;
      while (sel.options.length > 1) sel.remove(1);
      tenants.forEach(function (t) { var o = el('option', '', t); o.value = t; sel.appendChild(o); });
      sel.value = tenants.indexOf(keep) >= 0 ? keep : '';
    }
    $('inv-submit').disabled = !enabled;
    $('inv-disabled').hidden = !!enabled;
  }

  var inFlight = false, failures = 0;
  function poll() {
    if (inFlight) return;
    inFlight = true;
    fetch('api/stats?top=' + TOP + '&sort=' + sort, { cache: 'no-store' })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (s) { failures = 0; render(s); live(true, 'live'); })
      .catch(function (e) { failures++; live(false, failures > 1 ? 'unreachable' : 'retrying'); console.warn('stats poll failed', e); })
      .then(function () { inFlight = false; });
  }

  Array.prototype.forEach.call(document.querySelectorAll('#sort button'), function (b) {
    b.addEventListener('click', function () {
      sort = b.dataset.sort;
      Array.prototype.forEach.call(document.querySelectorAll('#sort button'), function (o) { o.classList.toggle('on', o === b); });
      poll();
    });
  });

  Array.prototype.forEach.call(document.querySelectorAll('input[name=inv-mode]'), function (r) {
    r.addEventListener('change', function () { $('inv-tags-field').hidden = r.value === 'all' && r.checked; });
  });

  $('invalidate-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var out = $('inv-result');
    var all = document.querySelector('input[name=inv-mode]:checked').value === 'all';
    var body = {};
    if (all) body.all = true;
    else {
      body.tags = $('inv-tags').value.split(',').map(function (t) { return t.trim(); }).filter(Boolean);
      if (!body.tags.length) { out.className = 'result err'; out.textContent = 'Give at least one tag, or choose "everything".'; return; }
    }
    if ($('inv-tenant').value) body.tenant = $('inv-tenant').value;
    token = $('inv-token').value.trim();
    if ($('inv-remember').checked && token) sessionStorage.setItem('sluice-admin-token', token);
    else sessionStorage.removeItem('sluice-admin-token');
    out.className = 'result'; out.textContent = 'Invalidating…';
    fetch('api/invalidate', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token }, body: JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, status: r.status, body: j }; }); })
      .then(function (r) {
        if (r.ok) {
          out.className = 'result ok';
          out.textContent = 'Invalidated ' + (r.body.all ? 'everything' : 'tags ' + r.body.tags.join(', ')) + ' of ' + r.body.tenants.join(', ') + ' at ' + new Date().toLocaleTimeString() + '.';
        } else {
          out.className = 'result err';
          out.textContent = 'Refused (' + r.status + '): ' + (r.body.error || 'unknown error');
        }
        poll();
      })
      .catch(function (e) { out.className = 'result err'; out.textContent = 'Failed: ' + e.message; });
  });

  poll();
  setInterval(poll, POLL_MS);
})();
`
