// Keeps String.prototype in V8's fast mode.
//
// When a class extends String (ioredis 6 does it at load time: `class VerbatimString extends
// String` in its RESP decoder), V8 turns String.prototype into a dictionary-mode object, meant to
// be made fast again the first time an inline cache looks a property up through it. Method calls
// on primitive strings never do that, so String.prototype stayed slow for the life of the process
// and optimized code could no longer inline `s.charCodeAt(i)`, `s.slice()` or `s.indexOf()`: every
// one became a generic property lookup plus a call. On the Postgres wire door that was about 8,500
// instructions per statement in the lexer that shapes SQL texts alone (callgrind, pgbench -S), in
// every process that had merely imported the Redis tier.
//
// A property load on a String *object* through an inline cache makes V8 migrate the prototype back
// to fast properties. The load sits in a function called often enough to be given its feedback
// vector (V8 allocates it lazily, after a few calls), which the migration needs. Harmless on an
// engine that behaves otherwise.

const wrapper: object = new String('')

function loadThroughPrototype(o: object): unknown {
  return (o as { charCodeAt?: unknown }).charCodeAt
}

/** Makes String.prototype fast again after a module extended String. Idempotent and cheap. */
export function keepStringPrototypeFast(): void {
  for (let i = 0; i < 64; i++) loadThroughPrototype(wrapper)
}
