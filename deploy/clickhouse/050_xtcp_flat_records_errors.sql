-- Step 5 of 5: messages the consumer could not parse (kafka_handle_error_mode = 'stream'), with
-- where they came from, the parser's message and the raw bytes, kept for a week. A steady stream
-- here usually means the format schema file and the daemon's schema disagree, or a producer
-- writes another -marshal than protobufList to the topic.
CREATE TABLE IF NOT EXISTS xtcp.xtcp_flat_records_errors
(
    observed_at DateTime DEFAULT now(),
    topic LowCardinality(String),
    partition UInt64,
    offset UInt64,
    error String,
    raw_message String CODEC(ZSTD)
)
ENGINE = MergeTree
ORDER BY (topic, observed_at)
TTL observed_at + INTERVAL 7 DAY DELETE;

CREATE MATERIALIZED VIEW IF NOT EXISTS xtcp.xtcp_flat_records_errors_mv TO xtcp.xtcp_flat_records_errors
AS SELECT
    now() AS observed_at,
    _topic AS topic,
    _partition AS partition,
    _offset AS offset,
    _error AS error,
    _raw_message AS raw_message
FROM xtcp.xtcp_flat_records_kafka
WHERE length(_error) > 0;
