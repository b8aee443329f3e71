# Derives ClickHouse's format schema from our record schema (run with cmake -P at build time):
#   cmake -DIN=proto/xtcp_flat_record/v1/xtcp_flat_record.proto -DOUT=.../xtcp_flat_record.proto -P this
# ClickHouse's ProtobufList format resolves format_schema 'file.proto:XtcpFlatRecord' as a type
# nested in the file's top-level message Envelope, while our proto declares XtcpFlatRecord at top
# level (the daemon and its consumers use it there). So the output is our XtcpFlatRecord message,
# verbatim, moved inside Envelope; the wire format is unchanged (same field names, numbers, types;
# Envelope's rows stay field 10). Services and the streaming messages are left out.
file(READ "${IN}" text)
string(FIND "${text}" "\nmessage XtcpFlatRecord {" begin)
if(begin EQUAL -1)
  message(FATAL_ERROR "${IN}: no top-level 'message XtcpFlatRecord {'")
endif()
math(EXPR begin "${begin} + 1")
string(SUBSTRING "${text}" ${begin} -1 rest)
string(FIND "${rest}" "\n}\n" end)  # the message's closing brace, in column 0
if(end EQUAL -1)
  message(FATAL_ERROR "${IN}: XtcpFlatRecord has no closing brace in column 0")
endif()
math(EXPR end "${end} + 2")
string(SUBSTRING "${rest}" 0 ${end} record)
string(REGEX MATCH "\npackage [a-z0-9_.]+;" package "${text}")
string(REPLACE "\n" "\n  " record "  ${record}")
string(REGEX REPLACE "  \n" "\n" record "${record}")  # no trailing blanks on empty lines
file(WRITE "${OUT}.tmp"
  "// GENERATED at build time from proto/xtcp_flat_record/v1/xtcp_flat_record.proto by\n"
  "// packaging/clickhouse_format_schema.cmake: do not edit. ClickHouse format schema for\n"
  "//   kafka_format = 'ProtobufList', kafka_schema = 'xtcp_flat_record.proto:XtcpFlatRecord'\n"
  "// (ProtobufList finds the row message nested in Envelope). Install it in ClickHouse's\n"
  "// format_schema_path, /var/lib/clickhouse/format_schemas/ by default.\n\n"
  "syntax = \"proto3\";\n${package}\n\n"
  "message Envelope {\n${record}\n  repeated XtcpFlatRecord row = 10;\n}\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
