// The shape of a MySQL/MariaDB SQL text: literals replaced by `?` (see shape.ts for Postgres).
// Analyses are memoised by shape, so the lexer must never give two texts that differ in more
// than literal values the same shape. Where MySQL's lexing depends on the session's sql_mode it
// stays away: double-quoted text is a string by default but an identifier under ANSI_QUOTES, so
// it is kept verbatim; a backslash in a string escapes a quote unless NO_BACKSLASH_ESCAPES is
// set, so a string containing a backslash makes the whole text its own shape.
export function mysqlShape(sql: string): string {
  let out = ''
  let i = 0
  let last = 0
  const n = sql.length
  const isIdent = (c: string) => /[A-Za-z0-9_$]/.test(c)
  while (i < n) {
    const c = sql[i]!
    if (c === "'") {
      let j = i + 1
      while (j < n) {
        if (sql[j] === '\\') return sql
        if (sql[j] === "'" && sql[j + 1] === "'") j += 2
        else if (sql[j] === "'") break
        else j++
      }
      if (j >= n) return sql // unterminated: leave it to the parser
      out += sql.slice(last, i) + '?'
      i = last = j + 1
    } else if (c === '"' || c === '`') {
      // identifiers (or ANSI_QUOTES-dependent strings): kept as they are
      let j = i + 1
      while (j < n) {
        if (c === '"' && sql[j] === '\\') return sql
        if (sql[j] === c && sql[j + 1] === c) j += 2
        else if (sql[j] === c) break
        else j++
      }
      if (j >= n) return sql
      i = j + 1
    } else if ((c === '-' && sql[i + 1] === '-' && /\s/.test(sql[i + 2] ?? '\n')) || c === '#') {
      const j = sql.indexOf('\n', i)
      i = j === -1 ? n : j + 1
    } else if (c === '/' && sql[i + 1] === '*') {
      const j = sql.indexOf('*/', i + 2)
      if (j === -1) return sql
      i = j + 2
    } else if (/[0-9]/.test(c) && !isIdent(sql[i - 1] ?? ' ')) {
      let j = i
      if (c === '0' && (sql[i + 1] === 'x' || sql[i + 1] === 'b')) return sql // hex/bit literals: rare, no shape
      while (j < n && /[0-9.eE]/.test(sql[j]!)) {
        if ((sql[j] === 'e' || sql[j] === 'E') && (sql[j + 1] === '-' || sql[j + 1] === '+')) j++
        j++
      }
      if (j < n && isIdent(sql[j]!)) {
        // an identifier that starts with digits (legal in MySQL): not a literal
        while (j < n && isIdent(sql[j]!)) j++
        i = j
        continue
      }
      out += sql.slice(last, i) + '?'
      i = last = j
    } else if (isIdent(c)) {
      // skip a whole word so digits inside identifiers (t1, x2y) are never taken as numbers
      while (i < n && isIdent(sql[i]!)) i++
    } else i++
  }
  return last === 0 ? sql : out + sql.slice(last)
}
