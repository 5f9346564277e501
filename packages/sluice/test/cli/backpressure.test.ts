// Backpressure through a real Sluice process, whose memory is measured from outside: a client that
// uploads COPY data faster than the origin takes it is not read ahead of the origin.
import { readFileSync } from 'node:fs'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import postgres from 'postgres'
import { beforeAll, expect, it } from 'vitest'
import { adminQuery, createDatabase, describeWithPostgres } from '../helpers/postgres.js'
import { SLUICE_BIN, spawnNode } from './process.js'

/** Resident memory of a process, in bytes (Linux). */
const rss = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024

describeWithPostgres('sluice start: backpressure', () => {
  let db: string
  beforeAll(async () => {
    db = await createDatabase('cli_backpressure')
    // The origin takes the first rows slowly (a trigger sleeps), then fast.
    await adminQuery(
      new URL(db).pathname.slice(1),
      `CREATE TABLE upload_t (id int, pad text);
       CREATE FUNCTION upload_slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.id <= 60 THEN PERFORM pg_sleep(0.025); END IF; RETURN NEW; END $$;
       CREATE TRIGGER upload_slow BEFORE INSERT ON upload_t FOR EACH ROW EXECUTE FUNCTION upload_slow()`,
    )
  })

  it('a client uploading COPY FROM STDIN faster than the origin takes it is not read ahead', async () => {
    const p = spawnNode([SLUICE_BIN, 'start', '--origin', db, '--host', '127.0.0.1', '--http-port', '0', '--pg-port', '0', '--admin-port', 'off', '--log-level', 'warn'], { SLUICE_API_KEYS: 'k', SLUICE_CONFIG: '' })
    try {
      await p.waitFor(/accelerateUrl=/)
      const wireUrl = p.stdout().match(/default: (postgresql:\S+)/)![1]!
      const sql = postgres(wireUrl, { max: 1 })
      try {
        await sql`SELECT 1`
        const pid = p.child.pid!
        const before = rss(pid)
        // Sampled while the origin is still slow (its first 60 rows take ~1.5 s): what Sluice holds
        // then is what it read ahead of the origin (later, fast streaming only churns the heap).
        let peak = 0
        const started = Date.now()
        const sampler = setInterval(() => {
          if (Date.now() - started < 1200) peak = Math.max(peak, rss(pid) - before)
        }, 10)
        const rows = 80_000
        async function* lines() {
          // ~100 KB at a time, made only when the stream asks for more.
          for (let i = 1; i <= rows; i += 100) {
            let chunk = ''
            for (let j = i; j < i + 100; j++) chunk += `${j}\t${'y'.repeat(1000)}\n`
            yield chunk
          }
        }
        const writable = await sql`COPY upload_t (id, pad) FROM STDIN`.writable()
        await pipeline(Readable.from(lines()), writable)
        clearInterval(sampler)
        const [counted] = (await sql`SELECT count(*)::int AS n FROM upload_t`) as unknown as [{ n: number }]
        expect(counted.n).toBe(rows)
        // Without backpressure Sluice takes in all the client sends meanwhile: its RSS grew by
        // ~120 MB in that time here; with it, ~30 MB (a young process's heap and code growing).
        expect(peak).toBeLessThan(64 * 1024 * 1024)
      } finally {
        await sql.end()
      }
    } finally {
      p.child.kill('SIGKILL')
    }
  })
})
