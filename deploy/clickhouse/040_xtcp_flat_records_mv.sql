-- Step 4 of 5: move parsed rows from the consumer into the MergeTree table. Columns are matched by
-- name; only timestamp_ns changes type (Int64 nanoseconds -> DateTime64(9)). Rows of messages that
-- failed to parse have _error set and go to step 5 instead.
CREATE MATERIALIZED VIEW IF NOT EXISTS xtcp.xtcp_flat_records_mv TO xtcp.xtcp_flat_records
AS SELECT
    fromUnixTimestamp64Nano(timestamp_ns, 'UTC') AS timestamp_ns,
    * EXCEPT (timestamp_ns)
FROM xtcp.xtcp_flat_records_kafka
WHERE length(_error) = 0;
