// The benchmark database: created from the e2e DDL (packages/sluice/test/e2e/prisma/schema.sql)
// and seeded with a fixed, deterministic data set.
//
// Data set (defaults): 1,000 users, 3 posts each (3,000 posts), 1 profile per user, 10 categories,
// each post in 2 categories, 10,000 rows behind the Probe view (a read counter). Texts have
// realistic lengths (titles ~40 chars, content ~300 chars, a small JSON document per post), so a
// 100-row findMany with posts returns ~100 users + 300 posts.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'

export function adminUrl(pgUrl, database = 'postgres') {
  const u = new URL(pgUrl)
  u.pathname = `/${database}`
  return u.toString()
}

async function withClient(url, fn) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

/**
 * Drops and recreates `database` with the e2e schema and the seed data. Returns row counts and
 * how long it took.
 */
export async function createBenchDatabase({ pgUrl, database, repoRoot, users = 1000, postsPerUser = 3, probeRows = 10000 }) {
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new Error(`unsafe database name ${database}`)
  const started = performance.now()
  await withClient(adminUrl(pgUrl), async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
    await c.query(`CREATE DATABASE ${database}`)
  })
  const ddl = readFileSync(join(repoRoot, 'packages/sluice/test/e2e/prisma/schema.sql'), 'utf8')
  const counts = await withClient(adminUrl(pgUrl, database), async (c) => {
    await c.query(ddl)
    await c.query('BEGIN')
    await c.query(
      `INSERT INTO "User" (id, email, name, role, tags, "createdAt", "updatedAt")
       SELECT i,
              'user' || i || '@bench.example.com',
              'User Number ' || i,
              (ARRAY['USER','USER','USER','EDITOR','ADMIN'])[1 + i % 5]::"Role",
              ARRAY['tag' || (i % 7), 'tag' || (i % 11)],
              timestamp '2025-01-01' + i * interval '37 minutes',
              timestamp '2025-06-01' + i * interval '11 minutes'
       FROM generate_series(1, $1::int) AS i`,
      [users],
    )
    await c.query(`SELECT setval(pg_get_serial_sequence('"User"', 'id'), $1::int)`, [users])
    await c.query(
      `INSERT INTO "Profile" (id, bio, "userId")
       SELECT 'profile-' || i, 'Bio of user ' || i || ': ' || repeat('lorem ipsum ', 4), i
       FROM generate_series(1, $1::int) AS i`,
      [users],
    )
    await c.query(
      `INSERT INTO "Post" (id, title, slug, content, status, views, rating, scores, metadata, "publishedAt", "authorId")
       SELECT 'post-' || u || '-' || k,
              'Post ' || k || ' of user ' || u || ': a benchmark title',
              'post-' || k,
              repeat('Sluice benchmark content, paragraph ' || k || '. ', 8),
              (ARRAY['DRAFT','PUBLISHED','PUBLISHED','ARCHIVED'])[1 + (u + k) % 4]::"Status",
              (u * 31 + k * 17) % 5000,
              ((u * 7 + k) % 50) / 10.0,
              ARRAY[u % 10, k, (u + k) % 100],
              jsonb_build_object('lang', 'en', 'words', 100 + (u + k) % 900, 'tags', jsonb_build_array('a', 'b'), 'nested', jsonb_build_object('ok', true)),
              CASE WHEN (u + k) % 4 = 0 THEN NULL ELSE timestamp '2025-03-01' + (u * 3 + k) * interval '1 hour' END,
              u
       FROM generate_series(1, $1::int) AS u, generate_series(1, $2::int) AS k`,
      [users, postsPerUser],
    )
    await c.query(`INSERT INTO "Category" (id, name) SELECT i, 'category-' || i FROM generate_series(1, 10) AS i`)
    await c.query(`SELECT setval(pg_get_serial_sequence('"Category"', 'id'), 10)`)
    await c.query(
      `INSERT INTO "_CategoryToPost" ("A", "B")
       SELECT DISTINCT 1 + ((u + k + j * 3) % 10), 'post-' || u || '-' || k
       FROM generate_series(1, $1::int) AS u, generate_series(1, $2::int) AS k, generate_series(0, 1) AS j`,
      [users, postsPerUser],
    )
    // Rows behind the "Probe" view (every row it returns advances the probe_reads sequence): the
    // concurrent-misses scenario counts database reads with it, one fresh id per burst.
    await c.query(`INSERT INTO "ProbeData" (id, label) SELECT i, 'probe-' || i FROM generate_series(1, $1::int) AS i`, [probeRows])
    await c.query('COMMIT')
    await c.query('VACUUM ANALYZE')
    const { rows } = await c.query(
      `SELECT (SELECT count(*) FROM "User")::int AS users, (SELECT count(*) FROM "Post")::int AS posts,
              (SELECT count(*) FROM "Profile")::int AS profiles, (SELECT count(*) FROM "_CategoryToPost")::int AS "postCategories",
              (SELECT count(*) FROM "ProbeData")::int AS "probeRows"`,
    )
    return rows[0]
  })
  return { database, ...counts, seedSeconds: (performance.now() - started) / 1000 }
}

/**
 * A long-lived admin connection (to the `postgres` database, so it is not counted) that lists the
 * backends connected to the benchmark database, and reports the server version.
 */
export async function openMonitor(pgUrl, database) {
  const client = new pg.Client({ connectionString: adminUrl(pgUrl) })
  await client.connect()
  const version = (await client.query('SHOW server_version')).rows[0].server_version
  const settings = Object.fromEntries(
    (
      await client.query(
        `SELECT name, setting, unit FROM pg_settings WHERE name IN ('shared_buffers','max_connections','synchronous_commit','fsync','work_mem')`,
      )
    ).rows.map((r) => [r.name, r.unit ? `${r.setting} ${r.unit}` : r.setting]),
  )
  return {
    version,
    settings,
    async backendPids() {
      const { rows } = await client.query('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database])
      return rows.map((r) => r.pid)
    },
    close: () => client.end(),
  }
}

export async function dropBenchDatabase(pgUrl, database) {
  await withClient(adminUrl(pgUrl), (c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`))
}
