// The shape of a SQL text: the same text with its literals (numbers, strings) replaced by `?`.
// What a statement reads, writes and calls does not depend on its literal values, so analyses are
// memoised by shape: `… WHERE aid = 17` and `… WHERE aid = 42` share one parse.
//
// A small lexer, not a parser: it only has to find literals without being fooled by quotes,
// comments and dollar-quoted bodies. When unsure it leaves text as it is (a different shape only
// costs a parse, never a wrong analysis).

export function sqlShape(sql: string): string {
  let out = ''
  let i = 0
  let last = 0
  const n = sql.length
  const isIdent = (c: string) => /[A-Za-z0-9_$]/.test(c)
  while (i < n) {
    const c = sql[i]!
    if (c === "'" || ((c === 'E' || c === 'e') && sql[i + 1] === "'" && !isIdent(sql[i - 1] ?? ' '))) {
      // string literal ('' doubles a quote; E'' strings also escape with backslash)
      const escapes = c !== "'"
      let j = escapes ? i + 2 : i + 1
      while (j < n) {
        if (escapes && sql[j] === '\\') j += 2
        else if (sql[j] === "'" && sql[j + 1] === "'") j += 2
        else if (sql[j] === "'") break
        else j++
      }
      if (j >= n) return sql // unterminated: leave it to the parser
      out += sql.slice(last, i) + '?'
      i = last = j + 1
    } else if (c === '"') {
      const j = sql.indexOf('"', i + 1)
      if (j === -1) return sql
      i = j + 1
    } else if (c === '-' && sql[i + 1] === '-') {
      const j = sql.indexOf('\n', i)
      i = j === -1 ? n : j + 1
    } else if (c === '/' && sql[i + 1] === '*') {
      const j = sql.indexOf('*/', i + 2)
      if (j === -1) return sql
      i = j + 2
    } else if (c === '$' && !isIdent(sql[i - 1] ?? ' ')) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 64))
      if (!tag) {
        i++ // $1 parameter
        while (i < n && /[0-9]/.test(sql[i]!)) i++
        continue
      }
      const j = sql.indexOf(tag[0], i + tag[0].length)
      if (j === -1) return sql
      i = j + tag[0].length
    } else if (/[0-9]/.test(c) && !isIdent(sql[i - 1] ?? ' ')) {
      let j = i
      while (j < n && /[0-9.eE]/.test(sql[j]!)) {
        if ((sql[j] === 'e' || sql[j] === 'E') && (sql[j + 1] === '-' || sql[j + 1] === '+')) j++
        j++
      }
      if (j < n && isIdent(sql[j]!)) {
        i = j
        continue
      }
      out += sql.slice(last, i) + '?'
      i = last = j
    } else i++
  }
  return last === 0 ? sql : out + sql.slice(last)
}
