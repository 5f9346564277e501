// Hand-rolled SVG bar charts for the benchmark report (no dependency). One chart = a title, a
// legend and a grid of panels; each panel has its own linear axis starting at 0 and shows, for
// each category (a target), one horizontal bar per series (p50, p99, req/s…) with its value
// written next to it, an optional min–max whisker and an optional vertical reference line (a goal).
//
//   barChart({ title, subtitle, series: [{ key, name, color }], columns, panels: [
//     { title, note, unit, format, ref: { value, label }, categories: [
//         { label, values: { p50: 0.21, p99: 0.52 }, ranges: { p50: [min, max] } } ] } ] })

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"'

export function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/** The smallest 1 / 2 / 2.5 / 5 × 10^k that is ≥ v (a grid step). */
export function niceStep(v) {
  if (!(v > 0)) return 1
  const k = 10 ** Math.floor(Math.log10(v))
  for (const m of [1, 2, 2.5, 5, 10]) if (m * k >= v * (1 - 1e-9)) return m * k
  return 10 * k
}

/** Axis tick label: no trailing zeros (2.5, 10, 20,000). */
export function formatTick(v) {
  return Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : String(Number(v.toFixed(6)))
}

/** Default number format: 3 significant-ish digits, thousands separated. */
export function formatNumber(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–'
  const a = Math.abs(v)
  if (a >= 1000) return Math.round(v).toLocaleString('en-US')
  if (a >= 100) return v.toFixed(0)
  if (a >= 10) return v.toFixed(1)
  if (a >= 1) return v.toFixed(2)
  if (a === 0) return '0'
  return v.toFixed(3)
}

// A rough text width (px) for a 11-12 px sans-serif font, to lay out labels without a DOM.
function textWidth(s, size = 11) {
  return String(s).length * size * 0.56
}

/** Splits a line into lines of at most `max` characters, at spaces. */
export function wrap(line, max) {
  const out = []
  let cur = ''
  for (const word of String(line).split(' ')) {
    if (cur && cur.length + 1 + word.length > max) {
      out.push(cur)
      cur = word
    } else cur = cur ? `${cur} ${word}` : word
  }
  if (cur) out.push(cur)
  return out
}

function renderPanel(panel, series, x0, y0, width, opts) {
  const { barHeight, barGap, groupGap } = opts
  const labelWidth = Math.max(opts.labelWidth, ...panel.categories.map((c) => textWidth(c.label) + 14))
  const format = panel.format ?? formatNumber
  const out = [] // title, labels, bars
  const back = [] // grid, axis and reference line, drawn first (behind the bars)
  const cats = panel.categories
  const shown = series.filter((s) => cats.some((c) => c.values[s.key] !== undefined && c.values[s.key] !== null))
  let max = 0
  for (const c of cats) {
    for (const s of shown) {
      const v = c.values[s.key]
      if (v > max) max = v
      const r = c.ranges?.[s.key]
      if (r && r[1] > max) max = r[1]
    }
  }
  if (panel.ref && panel.ref.value > max) max = panel.ref.value
  // leave room for the value labels right of the longest bar
  const valueRoom = 64
  const plotW = width - labelWidth - valueRoom - 12
  const step = niceStep(max / 4)
  const axisMax = step * Math.max(1, Math.ceil(max / step - 1e-9))
  const sx = (v) => x0 + labelWidth + (Math.max(0, v) / axisMax) * plotW
  let y = y0
  for (const line of wrap(panel.title, Math.floor(width / 7.6))) {
    out.push(`<text x="${x0}" y="${y + 13}" font-size="13" font-weight="600" fill="#111">${esc(line)}</text>`)
    y += 18
  }
  y += 2
  for (const line of panel.note ? wrap(panel.note, Math.floor(width / 6.2)) : []) {
    out.push(`<text x="${x0}" y="${y + 10}" font-size="11" fill="#444">${esc(line)}</text>`)
    y += 15
  }
  if (panel.note) y += 1
  if (panel.ref) y += 14 // room for the reference line's label
  const plotTop = y + 4
  y = plotTop
  const groupH = shown.length * (barHeight + barGap) - barGap
  for (const c of cats) {
    out.push(`<text x="${x0 + labelWidth - 8}" y="${y + groupH / 2 + 4}" font-size="11" text-anchor="end" fill="#222">${esc(c.label)}</text>`)
    for (const s of shown) {
      const v = c.values[s.key]
      if (v !== undefined && v !== null && !Number.isNaN(v)) {
        const w = Math.max(0.5, sx(v) - sx(0))
        out.push(`<rect x="${sx(0).toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${barHeight}" fill="${s.color}"><title>${esc(`${c.label} ${s.name}: ${format(v)}${panel.unit ? ` ${panel.unit}` : ''}`)}</title></rect>`)
        let labelX = sx(v) + 4
        const r = c.ranges?.[s.key]
        if (r) {
          const cy = y + barHeight / 2
          out.push(
            `<path d="M${sx(r[0]).toFixed(1)} ${cy}H${sx(r[1]).toFixed(1)}M${sx(r[0]).toFixed(1)} ${cy - 4}V${cy + 4}M${sx(r[1]).toFixed(1)} ${cy - 4}V${cy + 4}" stroke="#111" stroke-width="1" fill="none"/>`,
          )
          labelX = Math.max(labelX, sx(r[1]) + 4)
        }
        out.push(`<text x="${labelX.toFixed(1)}" y="${(y + barHeight - 3).toFixed(1)}" font-size="10.5" fill="#111">${esc(format(v))}</text>`)
      }
      y += barHeight + barGap
    }
    y += groupGap - barGap
  }
  const plotBottom = y - groupGap + barGap + 4
  // axis, ticks and grid
  const ticks = []
  for (let t = 0; t <= axisMax * (1 + 1e-9); t += step) ticks.push(t)
  for (const t of ticks) {
    const x = sx(t).toFixed(1)
    back.push(`<line x1="${x}" y1="${plotTop - 2}" x2="${x}" y2="${plotBottom}" stroke="${t === 0 ? '#888' : '#e3e3e3'}" stroke-width="1"/>`)
    back.push(`<text x="${x}" y="${plotBottom + 12}" font-size="9.5" text-anchor="middle" fill="#666">${esc(formatTick(t))}</text>`)
  }
  if (panel.unit) back.push(`<text x="${sx(axisMax).toFixed(1)}" y="${plotBottom + 24}" font-size="9.5" text-anchor="end" fill="#666">${esc(panel.unit)}</text>`)
  if (panel.ref) {
    const x = sx(panel.ref.value).toFixed(1)
    back.push(`<line x1="${x}" y1="${plotTop - 4}" x2="${x}" y2="${plotBottom}" stroke="#c0392b" stroke-width="1.5" stroke-dasharray="4 3"/>`)
    const lw = textWidth(panel.ref.label, 10)
    const lx = Math.min(Number(x) + 3, x0 + width - lw - 2)
    back.push(`<text x="${lx.toFixed(1)}" y="${plotTop - 7}" font-size="10" fill="#c0392b">${esc(panel.ref.label)}</text>`)
  }
  return { svg: [...back, ...out], height: plotBottom + (panel.unit ? 28 : 18) - y0 }
}

/** Renders a whole chart; returns the SVG document as a string. */
export function barChart({ title, subtitle, series, panels, columns = 2, panelWidth = 430, footnotes = [] }) {
  const opts = { labelWidth: 78, barHeight: 13, barGap: 2, groupGap: 8 }
  const pad = 16
  const gapX = 24
  const gapY = 14
  const width = pad * 2 + columns * panelWidth + (columns - 1) * gapX
  const body = []
  let y = pad
  body.push(`<text x="${pad}" y="${y + 16}" font-size="17" font-weight="700" fill="#111">${esc(title)}</text>`)
  y += 24
  for (const line of [].concat(subtitle ?? []).flatMap((l) => wrap(l, Math.floor((width - 2 * pad) / 6.2)))) {
    body.push(`<text x="${pad}" y="${y + 12}" font-size="11.5" fill="#444">${esc(line)}</text>`)
    y += 16
  }
  // legend
  let lx = pad
  y += 4
  for (const s of series) {
    body.push(`<rect x="${lx}" y="${y}" width="12" height="12" fill="${s.color}"/>`)
    body.push(`<text x="${lx + 16}" y="${y + 10}" font-size="11" fill="#222">${esc(s.name)}</text>`)
    lx += 16 + textWidth(s.name) + 18
  }
  y += 22
  for (let i = 0; i < panels.length; i += columns) {
    const row = panels.slice(i, i + columns)
    let rowH = 0
    row.forEach((p, j) => {
      const r = renderPanel(p, series, pad + j * (panelWidth + gapX), y, panelWidth, opts)
      body.push(...r.svg)
      rowH = Math.max(rowH, r.height)
    })
    y += rowH + gapY
  }
  for (const line of footnotes.flatMap((l) => wrap(l, Math.floor((width - 2 * pad) / 5.9)))) {
    body.push(`<text x="${pad}" y="${y + 10}" font-size="10.5" fill="#555">${esc(line)}</text>`)
    y += 15
  }
  const height = Math.ceil(y + pad)
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n')
}
