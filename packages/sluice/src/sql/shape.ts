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

// What each ASCII character can start (CLASS[c]); characters from 0x80 up are identifier characters
// (Postgres takes non-ASCII letters in identifiers).
const PLAIN = 0 // spaces, punctuation, operators: nothing to look at
const IDENT = 1 // starts an identifier or keyword (letters, `_`)
const DIGIT = 2
const SPECIAL = 3 // ' " - / $: may start a literal, a quoted identifier, a comment or a parameter
const CLASS = new Uint8Array(128)
for (let c = 0x41; c <= 0x5a; c++) CLASS[c] = CLASS[c + 0x20] = IDENT
CLASS[0x5f] = IDENT
for (let c = 0x30; c <= 0x39; c++) CLASS[c] = DIGIT
for (const c of [QUOTE, DQUOTE, DASH, SLASH, DOLLAR]) CLASS[c] = SPECIAL

const isDigit = (c: number) => c >= 0x30 && c <= 0x39
const isLetter = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f // A-Z a-z _
/** Identifier character after the first: letters, digits, `_`, `$` and anything non-ASCII (NaN — past the end — is none). */
const isIdent = (c: number) => (c < 0x80 ? CLASS[c] === IDENT || CLASS[c] === DIGIT || c === DOLLAR : c === c)
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

/**
 * End of the string literal whose opening quote is at `q` (the index after its closing quote), or
 * -1 when it is not terminated. `escapes`: an E'' string, where a backslash escapes the next character.
 */
function stringEnd(sql: string, q: number, escapes: boolean): number {
  const n = sql.length
  let j = q + 1
  while (j < n) {
    const d = sql.charCodeAt(j)
    if (escapes && d === BACKSLASH) j += 2
    else if (d !== QUOTE) j++
    else if (sql.charCodeAt(j + 1) === QUOTE) j += 2 // '' is a quote inside the literal
    else return j + 1
  }
  return -1
}

/**
 * The text with its literals replaced by `?`. Works a token at a time: an identifier or keyword is
 * skipped as a whole (so digits inside it are never taken for a number), and only the characters
 * that can start something else are looked at.
 */
export function sqlShape(sql: string): string {
  let out = ''
  let i = 0
  let last = 0
  const n = sql.length
  while (i < n) {
    const c = sql.charCodeAt(i)
    const kind = c < 0x80 ? CLASS[c] : IDENT
    if (kind === PLAIN) {
      i++
    } else if (kind === IDENT) {
      let j = i + 1
      while (j < n && isIdent(sql.charCodeAt(j))) j++
      if (j === i + 1 && isE(c) && sql.charCodeAt(j) === QUOTE) {
        // E'…': a string with backslash escapes
        const end = stringEnd(sql, j, true)
        if (end === -1) return sql // unterminated: leave it to the parser
        out += sql.slice(last, i) + '?'
        i = last = end
      } else i = j
    } else if (kind === DIGIT) {
      let j = i
      for (let d = c; j < n && (isDigit(d) || d === DOT || isE(d)); d = sql.charCodeAt(j)) {
        if (isE(d)) {
          const sign = sql.charCodeAt(j + 1)
          if (sign === DASH || sign === PLUS) j++
        }
        j++
      }
      if (j < n && isIdent(sql.charCodeAt(j))) {
        // `1abc`: not a number on its own; the rest is skipped as an identifier
        i = j
        while (i < n && isIdent(sql.charCodeAt(i))) i++
        continue
      }
      out += sql.slice(last, i) + '?'
      i = last = j
    } else if (c === QUOTE) {
      const end = stringEnd(sql, i, false)
      if (end === -1) return sql
      out += sql.slice(last, i) + '?'
      i = last = end
    } else if (c === DQUOTE) {
      const j = sql.indexOf('"', i + 1)
      if (j === -1) return sql
      i = j + 1
    } else if (c === DASH) {
      if (sql.charCodeAt(i + 1) !== DASH) i++
      else {
        const j = sql.indexOf('\n', i)
        i = j === -1 ? n : j + 1
      }
    } else if (c === SLASH) {
      if (sql.charCodeAt(i + 1) !== STAR) i++
      else {
        const j = sql.indexOf('*/', i + 2)
        if (j === -1) return sql
        i = j + 2
      }
    } else {
      // `$`: not after an identifier character (identifiers are skipped whole)
      const length = dollarTag(sql, i)
      if (length === 0) {
        i++ // $1 parameter
        while (i < n && isDigit(sql.charCodeAt(i))) i++
        continue
      }
      const j = sql.indexOf(sql.slice(i, i + length), i + length)
      if (j === -1) return sql
      i = j + length
    }
  }
  return last === 0 ? sql : out + sql.slice(last)
}
