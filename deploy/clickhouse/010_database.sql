-- xtcp2 in ClickHouse, step 1 of 5: the database. The files run in name order (the ClickHouse
-- image runs /docker-entrypoint-initdb.d/*.sql that way; by hand: clickhouse-client --multiquery
-- < each file). Pipeline: Kafka topic -> xtcp_flat_records_kafka (Kafka engine, ProtobufList)
-- -> xtcp_flat_records_mv -> xtcp_flat_records (MergeTree); broken messages ->
-- xtcp_flat_records_errors_mv -> xtcp_flat_records_errors.
CREATE DATABASE IF NOT EXISTS xtcp;
