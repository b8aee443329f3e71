#pragma once
// Marshaller: turns one flushed Envelope into the bytes a Sink sends (framing included).
//
// Implementations live in src/marshal/, one file per format, and are listed in the table of
// src/marshal/builtin.cc. A Marshaller is used by one thread at a time (the output stage) and may
// keep state across calls (csv/tsv print their header once per process).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "xtcp/envelope.h"

namespace xtcp {

class Marshaller {
 public:
  virtual ~Marshaller() = default;

  // The -marshal name, e.g. "protobufList".
  virtual std::string_view name() const = 0;
  // HTTP Content-Type of the output (upstream mapping, reference §7.2).
  virtual std::string_view content_type() const = 0;
  // Appends the encoding of `envelope` to `*out`. Errors are counted by the caller as
  // xtcp_counts{<op>,marshal,error} with op = metric_op().
  virtual absl::Status Marshal(const EnvelopeView& envelope, std::string* out) = 0;
  // Upstream metric function label for marshal errors, e.g. "protobufListMarshal".
  virtual std::string_view metric_op() const = 0;
  // Formats whose output is the Envelope bytes verbatim behind a small header (protobufList)
  // write that header to `*prefix` and return true, so the output stage can send
  // prefix + envelope without copying the envelope. Everything else returns false.
  virtual bool HeaderOnly(const EnvelopeView& envelope, std::string* prefix) {
    (void)envelope;
    (void)prefix;
    return false;
  }
  // Formats with a header line (csv, tsv) write it once per marshaller; after this call the next
  // Marshal() writes it again. The output stage calls it before each flush to a message sink
  // (udp, unixgram, kafka), so the first message of every flush carries the header.
  virtual void RepeatHeader() {}
};

struct MarshalOptions {
  std::string name;         // -marshal
  std::string csv_columns;  // -columns (csv/tsv only)
};

// Builds the marshaller named by `opts.name`; InvalidArgument names the problem (unknown format,
// unknown column) for a one-line startup error.
absl::StatusOr<std::unique_ptr<Marshaller>> CreateMarshaller(const MarshalOptions& opts);

// Every -marshal name, in table order (main hands them to the flag parser).
std::vector<std::string> MarshallerNames();

}  // namespace xtcp
