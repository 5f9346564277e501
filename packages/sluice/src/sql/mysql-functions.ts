// MySQL/MariaDB built-in functions, as two allow-lists (anything not listed — user functions,
// newer built-ins, typos — is treated as unsafe). Names are lower case; the analyser lower-cases
// what it finds.

// Deterministic built-ins: the result depends only on the arguments (and the rows read), so a
// read calling only these may be cached. Everything else is volatile for caching purposes:
// NOW(), SYSDATE(), CURRENT_TIMESTAMP and the other clock functions, RAND(), UUID(), UUID_SHORT(),
// LAST_INSERT_ID(), CONNECTION_ID(), FOUND_ROWS(), ROW_COUNT(), DATABASE(), USER(), VERSION(),
// GET_LOCK(), IS_FREE_LOCK(), SLEEP(), BENCHMARK(), NEXTVAL() …
const DETERMINISTIC = `count sum avg min max group_concat json_arrayagg json_objectagg bit_and bit_or bit_xor
  std stddev stddev_pop stddev_samp variance var_pop var_samp
  coalesce ifnull nullif if greatest least isnull interval field elt find_in_set
  lower upper lcase ucase length char_length character_length octet_length bit_length
  substring substr substring_index mid left right trim ltrim rtrim concat concat_ws replace repeat reverse
  lpad rpad insert instr locate position strcmp space ascii ord char hex unhex bin oct conv format quote soundex
  regexp_replace regexp_substr regexp_instr regexp_like like
  abs ceil ceiling floor round truncate mod pow power sqrt exp ln log log2 log10 sign pi degrees radians
  sin cos tan asin acos atan atan2 cot crc32 md5 sha sha1 sha2 to_base64 from_base64 compress uncompress
  date time year month day dayofmonth dayofweek dayofyear weekday week weekofyear yearweek hour minute second
  microsecond quarter monthname dayname last_day makedate maketime date_add date_sub adddate subdate addtime subtime
  datediff timediff timestampdiff timestampadd date_format time_format str_to_date from_days to_days to_seconds
  period_add period_diff sec_to_time time_to_sec extract convert_tz
  cast convert binary
  json_extract json_unquote json_quote json_object json_array json_contains json_contains_path json_keys json_length
  json_type json_valid json_depth json_search json_value json_set json_insert json_replace json_remove
  json_merge json_merge_patch json_merge_preserve json_array_append json_array_insert json_overlaps json_query
  json_compact json_detailed json_loose json_exists json_equals json_normalize json_table
  row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value nth_value
  match against exists values inet_aton inet_ntoa inet6_aton inet6_ntoa is_ipv4 is_ipv6 bit_count
  st_astext st_geomfromtext st_x st_y st_distance`
  .split(/\s+/)
  .filter(Boolean)
export const MYSQL_DETERMINISTIC_FUNCTIONS: ReadonlySet<string> = new Set(DETERMINISTIC)

// Built-ins that cannot change data. A raw statement calling anything else (a stored function
// may write anywhere) counts as a write of unknown extent: Sluice invalidates the whole origin.
// Session-scoped side effects (named locks, LAST_INSERT_ID(expr)) change no table and are listed;
// the analyser reports them as session state instead.
export const MYSQL_READ_ONLY_FUNCTIONS: ReadonlySet<string> = new Set([
  ...DETERMINISTIC,
  ...`now sysdate current_timestamp localtime localtimestamp current_date current_time curdate curtime
  utc_date utc_time utc_timestamp unix_timestamp from_unixtime rand uuid uuid_short sys_guid
  last_insert_id connection_id found_rows row_count database schema user current_user session_user system_user
  version current_role charset collation coercibility benchmark sleep get_lock release_lock release_all_locks
  is_free_lock is_used_lock master_pos_wait`
    .split(/\s+/)
    .filter(Boolean),
])

// SQL value functions: allowed without parentheses and evaluated per statement or session.
export const MYSQL_VALUE_FUNCTIONS: ReadonlySet<string> = new Set(
  ['current_timestamp', 'current_date', 'current_time', 'current_user', 'current_role', 'localtime', 'localtimestamp', 'utc_date', 'utc_time', 'utc_timestamp', 'session_user', 'system_user', 'user'],
)

// Functions whose effect outlives the statement on the connection: a pooled connection that ran
// them carries state to its next client.
export const MYSQL_SESSION_FUNCTIONS: ReadonlySet<string> = new Set(['get_lock', 'release_lock', 'release_all_locks'])

/** The functions among `functions` that make a read unfit for caching. */
export function volatileMysqlFunctions(functions: readonly string[]): string[] {
  return functions.filter((f) => !MYSQL_DETERMINISTIC_FUNCTIONS.has(f))
}

// Built-ins whose result changes from one call to the next, or with the session: a statement
// calling one is never cached by the wire door, nor is an auto-mode read of a view calling one.
export const MYSQL_VOLATILE_FUNCTIONS: ReadonlySet<string> = new Set([
  'now', 'sysdate', 'curdate', 'curtime', 'current_timestamp', 'current_date', 'current_time', 'localtime', 'localtimestamp',
  'utc_date', 'utc_time', 'utc_timestamp', 'unix_timestamp', 'rand', 'random_bytes', 'uuid', 'uuid_short', 'sys_guid',
  'last_insert_id', 'row_count', 'found_rows', 'connection_id', 'database', 'schema', 'user', 'current_user', 'session_user',
  'system_user', 'current_role', 'version', 'benchmark', 'sleep', 'get_lock', 'release_lock', 'release_all_locks', 'is_free_lock',
  'is_used_lock', 'master_pos_wait', 'master_gtid_wait', 'nextval', 'lastval', 'setval', 'load_file', 'values',
])
