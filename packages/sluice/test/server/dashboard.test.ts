// The dashboard in a real browser: Debian's Chromium driven by playwright-core opens the admin
// page of a running Sluice, traffic goes through both doors, and the page's numbers must follow;
// the invalidate form is used with a wrong and the right token; a screenshot is decoded and
// checked for being a rendered page (not blank, not one colour).
//
// Needs PostgreSQL and Chromium (/usr/bin/chromium, or SLUICE_TEST_CHROMIUM). Without Chromium the
// suite is skipped with a printed reason, except under CI=true where it fails.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createDatabase, describeWithPostgres } from '../helpers/postgres.js'
import { startSluice, type TestSluice } from '../helpers/sluice.js'
import { ddl, loadClient } from '../e2e/clients.js'

/* eslint-disable @typescript-eslint/no-explicit-any */
const CHROMIUM = process.env.SLUICE_TEST_CHROMIUM ?? '/usr/bin/chromium'
const TOKEN = 'dashboard-test-token-0123456789'
const hasChromium = existsSync(CHROMIUM)
if (!hasChromium && process.env.CI === 'true') {
  throw new Error(`CI=true requires Chromium at ${CHROMIUM} for the dashboard test (apt-get install -y chromium)`)
}
if (!hasChromium) console.warn(`[sluice tests] SKIPPING the dashboard browser test: no Chromium at ${CHROMIUM} (apt-get install -y chromium)`)

const describeWithBrowser = hasChromium ? describeWithPostgres : describeWithPostgres.skip

describeWithBrowser('dashboard in headless Chromium', () => {
  let s: TestSluice
  let url: string
  let prisma: any
  let context: BrowserContext
  let page: Page
  let profile: string
  const problems: string[] = []

  beforeAll(async () => {
    url = await createDatabase('dashboard', ddl())
    s = await startSluice({ origin: `${url}?connection_limit=4`, apiKeys: ['k'], pg: { cache: 'auto' }, adminToken: TOKEN })
    const { PrismaClient, withAccelerate } = await loadClient('7.10')
    prisma = new PrismaClient({ accelerateUrl: s.accelerateUrl('k') }).$extends(withAccelerate())
    profile = mkdtempSync(join(tmpdir(), 'sluice-chromium-'))
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1440, height: 900 },
      deviceScaleFactor: 1,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    })
    page = context.pages()[0] ?? (await context.newPage())
    // A CSP violation (e.g. a script hash that does not match) or a script error shows up here.
    page.on('console', (m) => {
      // (the browser logs the deliberate wrong-token attempt below as a failed resource load)
      if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(`console: ${m.text()}`)
    })
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
  }, 120_000)

  afterAll(async () => {
    await context?.close()
    await s?.close()
    if (profile) rmSync(profile, { recursive: true, force: true })
  })

  const text = (selector: string) => page.locator(selector).first().textContent()
  const status = async (p: Promise<any>) => (await (p as any).withAccelerateInfo()).info.cacheStatus as string
  const users = () => prisma.user.findMany({ where: { email: { endsWith: '@example.com' } }, cacheStrategy: { ttl: 60, tags: ['users'] } })

  it('renders, follows the traffic, and invalidates with the admin token', async () => {
    await page.goto(`http://127.0.0.1:${s.sluice.adminPort}/`)
    await expect.poll(() => text('#live'), { timeout: 15_000 }).toBe('live')
    expect(await page.title()).toBe('Sluice · dashboard')
    expect(await text('#shapes')).toContain('No queries yet')
    expect(await page.locator('#kpi-requests').getAttribute('data-value')).toBe('0')
    expect(await page.locator('#pools .pool').count()).toBe(1)
    expect(await text('#pools')).toContain('in use 0 / 4')

    // Traffic: 1 miss + 4 hits of one shape, an uncached read, wire-door reads.
    await prisma.user.create({ data: { email: 'dash@example.com', name: 'Dash' } })
    for (let i = 0; i < 5; i++) await users()
    await prisma.user.findFirst({ where: { name: 'Dash' } })
    const c = new pg.Client({ connectionString: s.pgUrl(url) })
    await c.connect()
    // auto mode: the first miss is relayed (not cached: first miss), the second stored, then hits
    for (let i = 0; i < 4; i++) await c.query(`SELECT id, email FROM "User" WHERE name = 'Dash'`)
    await c.query('SELECT now()')
    await c.end()

    // The page catches up on its own (it polls every second).
    await expect.poll(async () => Number(await page.locator('#kpi-requests').getAttribute('data-value')), { timeout: 15_000 }).toBeGreaterThanOrEqual(11)
    await expect.poll(async () => Number(await page.locator('#kpi-hitrate').getAttribute('data-value')), { timeout: 10_000 }).toBeGreaterThan(0)
    expect(await text('#kpi-hitrate')).toMatch(/^\d+(\.\d)?%$/)
    const row = page.locator('#shapes tr', { hasText: 'User.findMany' })
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(1)
    expect(await row.locator('td.count').textContent()).toBe('5')
    expect(await row.locator('.hitratio').textContent()).toBe('80.0%')
    expect(await row.locator('.sql').textContent()).toMatch(/^SELECT .*"User"/)
    expect(await row.textContent()).not.toContain('example.com')
    const uncached = page.locator('#shapes tr', { hasText: 'User.findFirst' })
    expect(await uncached.locator('.reason').textContent()).toBe('no cache strategy')
    const wire = page.locator('#shapes tr', { hasText: 'name = ?' })
    await expect.poll(() => wire.count(), { timeout: 10_000 }).toBe(1)
    expect(await wire.locator('td.count').textContent()).toBe('4')
    expect(await wire.locator('.hitratio').textContent()).toBe('66.7%')
    expect(await text('#reasons')).toContain('volatile function')
    expect(await text('#reasons')).toContain('no cache strategy')
    expect(Number(await text('#status-legend .status-ttl'))).toBeGreaterThanOrEqual(6)
    expect(await page.locator('#status-bar .seg-miss').count()).toBe(1)
    expect(Number((await text('#lat-hit-n')) ?? '0')).toBeGreaterThanOrEqual(6)
    expect(await text('#lat-hit-p50')).toMatch(/\d+(\.\d+)? (µs|ms)/)

    // Invalidate: a wrong token is refused and changes nothing …
    expect(await status(users())).toBe('ttl')
    await page.fill('#inv-tags', 'users')
    await page.fill('#inv-token', 'not-the-token-at-all')
    await page.click('#inv-submit')
    await expect.poll(() => text('#inv-result'), { timeout: 10_000 }).toMatch(/^Refused \(401\)/)
    expect(await page.locator('#inv-result').getAttribute('class')).toContain('err')
    expect(await status(users())).toBe('ttl')
    // … the right one invalidates the tag.
    await page.fill('#inv-token', TOKEN)
    await page.click('#inv-submit')
    await expect.poll(() => text('#inv-result'), { timeout: 10_000 }).toMatch(/^Invalidated tags users of default/)
    expect(await status(users())).toBe('miss')
    // "everything" for the tenant.
    await page.click('label:has(> input[name=inv-mode][value=all])')
    expect(await page.isChecked('input[name=inv-mode][value=all]')).toBe(true)
    expect(await page.locator('#inv-tags-field').isHidden()).toBe(true)
    await page.selectOption('#inv-tenant', 'default')
    await page.click('#inv-submit')
    await expect.poll(() => text('#inv-result'), { timeout: 10_000 }).toMatch(/^Invalidated everything of default/)
    expect(await status(users())).toBe('miss')

    // Let the sparklines draw a few points, then look at the page as a person would.
    await expect.poll(async () => (await page.locator('#spark-rps .line').getAttribute('d'))?.split('L').length ?? 0, { timeout: 15_000 }).toBeGreaterThanOrEqual(4)
    const png = await page.screenshot()
    const shot = join(tmpdir(), `sluice-dashboard-${process.pid}.png`)
    writeFileSync(shot, png)
    console.log(`[dashboard test] screenshot: ${shot}`)
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG')
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1440, 900]) // IHDR width, height

    // Decode it (in a blank page's canvas) and look at its pixels.
    const probe = await context.newPage()
    const pixels = await probe.evaluate(async (dataUrl: string) => {
      // Runs in the browser (this package is type-checked without the DOM library).
      const { Image, document } = globalThis as any
      const img = new Image()
      img.src = dataUrl
      await img.decode()
      const canvas = document.createElement('canvas')
      canvas.width = img.width
      canvas.height = img.height
      const g = canvas.getContext('2d')
      g.drawImage(img, 0, 0)
      const d: Uint8ClampedArray = g.getImageData(0, 0, img.width, img.height).data
      const counts = new Map<number, number>()
      let accent = 0
      for (let i = 0; i < d.length; i += 4) {
        const key = ((d[i]! >> 3) << 10) | ((d[i + 1]! >> 3) << 5) | (d[i + 2]! >> 3)
        counts.set(key, (counts.get(key) ?? 0) + 1)
        // the teal accent (#2dd4bf) of the sparkline and bars
        if (Math.abs(d[i]! - 0x2d) < 24 && Math.abs(d[i + 1]! - 0xd4) < 24 && Math.abs(d[i + 2]! - 0xbf) < 24) accent++
      }
      const total = d.length / 4
      return { width: img.width as number, height: img.height as number, colours: counts.size, dominantShare: Math.max(...counts.values()) / total, accent }
    }, `data:image/png;base64,${png.toString('base64')}`)
    await probe.close()
    expect(pixels).toMatchObject({ width: 1440, height: 900 })
    expect(pixels.colours).toBeGreaterThan(50) // text, cards, bars: not a blank page
    expect(pixels.dominantShare).toBeLessThan(0.95)
    expect(pixels.accent).toBeGreaterThan(100) // the hit-rate sparkline and bars were drawn

    expect(problems).toEqual([])
  }, 120_000)
})
