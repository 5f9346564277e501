// Built-in functions that cannot change data. A raw statement calling anything else (a user
// function, a procedure in disguise) may write anywhere, so Sluice invalidates the whole origin
// after it rather than trust a guess.
export const READ_ONLY_FUNCTIONS: ReadonlySet<string> = new Set(
  `count sum avg min max coalesce nullif greatest least lower upper length char_length octet_length
  substring substr trim btrim ltrim rtrim concat concat_ws replace split_part position strpos left right
  lpad rpad repeat reverse initcap format quote_ident quote_literal to_char to_date to_timestamp to_number
  date_trunc date_part extract age now clock_timestamp statement_timestamp transaction_timestamp timeofday
  timezone make_date make_timestamp make_interval abs ceil ceiling floor round trunc mod power pow sqrt exp
  ln log sign random setseed md5 sha224 sha256 sha384 sha512 encode decode json_build_object
  jsonb_build_object json_build_array jsonb_build_array json_agg jsonb_agg json_object_agg jsonb_object_agg
  to_json to_jsonb row_to_json array_to_json array_agg string_agg array_length array_lower array_upper
  array_to_string array_position array_positions array_remove array_replace array_append array_prepend
  array_cat cardinality unnest generate_series generate_subscripts row_number rank dense_rank percent_rank
  cume_dist ntile lag lead first_value last_value nth_value bool_and bool_or every bit_and bit_or
  stddev stddev_pop stddev_samp variance var_pop var_samp percentile_cont percentile_disc mode
  jsonb_array_length json_array_length jsonb_extract_path jsonb_extract_path_text json_extract_path
  json_extract_path_text jsonb_typeof json_typeof jsonb_set jsonb_insert jsonb_strip_nulls jsonb_pretty
  jsonb_path_query jsonb_path_query_array jsonb_path_query_first jsonb_path_exists jsonb_path_match
  jsonb_each jsonb_each_text json_each jsonb_array_elements jsonb_array_elements_text json_array_elements
  jsonb_object_keys json_object_keys to_tsvector to_tsquery plainto_tsquery phraseto_tsquery
  websearch_to_tsquery ts_rank ts_rank_cd ts_headline string_to_array regexp_replace regexp_match
  regexp_matches regexp_split_to_array regexp_split_to_table starts_with pg_typeof current_database
  current_schema current_schemas current_setting set_config version pg_sleep gen_random_uuid uuid_generate_v4
  nextval currval lastval setval pg_backend_pid inet_client_addr txid_current has_table_privilege
  pg_get_serial_sequence pg_relation_size pg_total_relation_size pg_size_pretty obj_description
  col_description format_type pg_get_indexdef pg_get_constraintdef`.split(/\s+/).filter(Boolean),
)

// Built-ins whose result changes from one call to the next (or with the session): a statement
// calling one is never cached by the wire door, nor is an auto-mode read of a view calling one.
export const VOLATILE_FUNCTIONS: ReadonlySet<string> = new Set([
  'now', 'random', 'nextval', 'currval', 'lastval', 'setval', 'clock_timestamp', 'statement_timestamp', 'transaction_timestamp',
  'timeofday', 'gen_random_uuid', 'uuid_generate_v1', 'uuid_generate_v4', 'txid_current', 'pg_backend_pid', 'pg_sleep',
  'inet_client_addr', 'current_setting', 'set_config', 'pg_advisory_lock', 'pg_try_advisory_lock', 'setseed', 'version',
])
