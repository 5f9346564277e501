// The shape of a SQL text: the same text with its literals (numbers, strings) replaced by `?`.
// What a statement reads, writes and calls does not depend on its literal values, so analyses are
// memoised by shape: `… WHERE aid = 17` and `… WHERE aid = 42` share one parse.
//
// A small lexer, not a parser: it only has to find literals without being fooled by quotes,
// comments and dollar-quoted bodies. When unsure it leaves text as it is (a different shape only
// costs a parse, never a wrong analysis).
//
// It runs on every wire statement whose text carries literals, so it works on char codes: no
// regular expression and no one-character string per character.

const QUOTE = 0x27 // '
const DQUOTE = 0x22 // "
const BACKSLASH = 0x5c
const DOLLAR = 0x24
const DASH = 0x2d
const PLUS = 0x2b
const SLASH = 0x2f
const STAR = 0x2a
const DOT = 0x2e

const isDigit = (c: number) => c >= 0x30 && c <= 0x39
const isLetter = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f // A-Z a-z _
/** ASCII identifier character: letters, digits, `_`, `$` (NaN — before the start — is none). */
const isIdent = (c: number) => isLetter(c) || isDigit(c) || c === DOLLAR
const isE = (c: number) => c === 0x45 || c === 0x65

/** Length of the dollar-quote tag (`$$`, `$tag$`) starting at `i`, or 0 when there is none there. */
function dollarTag(sql: string, i: number): number {
  // A tag is at most 64 characters long (a longer one is taken for text, as before).
  const end = Math.min(sql.length, i + 64)
  let j = i + 1
  if (j < end && isLetter(sql.charCodeAt(j))) {
    j++
    while (j < end && (isLetter(sql.charCodeAt(j)) || isDigit(sql.charCodeAt(j)))) j++
  }
  return j < end && sql.charCodeAt(j) === DOLLAR ? j + 1 - i : 0
}

export function sqlShape(sql: string): string {
  let out = ''
  let i = 0
  let last = 0
  const n = sql.length
  while (i < n) {
    const c = sql.charCodeAt(i)
    if (c === QUOTE || (isE(c) && sql.charCodeAt(i + 1) === QUOTE && !isIdent(sql.charCodeAt(i - 1)))) {
      // string literal ('' doubles a quote; E'' strings also escape with backslash)
      const escapes = c !== QUOTE
      let j = escapes ? i + 2 : i + 1
      while (j < n) {
        const d = sql.charCodeAt(j)
        if (escapes && d === BACKSLASH) j += 2
        else if (d === QUOTE && sql.charCodeAt(j + 1) === QUOTE) j += 2
        else if (d === QUOTE) break
        else j++
      }
      if (j >= n) return sql // unterminated: leave it to the parser
      out += sql.slice(last, i) + '?'
      i = last = j + 1
    } else if (c === DQUOTE) {
      const j = sql.indexOf('"', i + 1)
      if (j === -1) return sql
      i = j + 1
    } else if (c === DASH && sql.charCodeAt(i + 1) === DASH) {
      const j = sql.indexOf('\n', i)
      i = j === -1 ? n : j + 1
    } else if (c === SLASH && sql.charCodeAt(i + 1) === STAR) {
      const j = sql.indexOf('*/', i + 2)
      if (j === -1) return sql
      i = j + 2
    } else if (c === DOLLAR && !isIdent(sql.charCodeAt(i - 1))) {
      const length = dollarTag(sql, i)
      if (length === 0) {
        i++ // $1 parameter
        while (i < n && isDigit(sql.charCodeAt(i))) i++
        continue
      }
      const j = sql.indexOf(sql.slice(i, i + length), i + length)
      if (j === -1) return sql
      i = j + length
    } else if (isDigit(c) && !isIdent(sql.charCodeAt(i - 1))) {
      let j = i
      for (let d = c; j < n && (isDigit(d) || d === DOT || isE(d)); d = sql.charCodeAt(j)) {
        if (isE(d)) {
          const sign = sql.charCodeAt(j + 1)
          if (sign === DASH || sign === PLUS) j++
        }
        j++
      }
      if (j < n && isIdent(sql.charCodeAt(j))) {
        i = j
        continue
      }
      out += sql.slice(last, i) + '?'
      i = last = j
    } else i++
  }
  return last === 0 ? sql : out + sql.slice(last)
}
