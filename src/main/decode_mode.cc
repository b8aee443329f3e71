// xtcp2 -decode FILE|- : prints every record of a protobufList stream (what -marshal protobufList
// writes to a file, a pipe or Kafka) on stdout: as jsonl by default (-marshal left at
// protobufList, or jsonl), else in the -marshal format (csv/tsv with -columns, protoJson, ...).
// Malformed input stops with one line naming the byte offset of the bad message, exit 1; records
// before it have been printed. A closed stdout ends it quietly (exit 0).
#include <fcntl.h>
#include <google/protobuf/util/json_util.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "main/modes.h"
#include "marshal/formats.h"
#include "marshal/protobuf_list_reader.h"
#include "xtcp/marshaller.h"

namespace xtcp::main {
namespace {

bool WriteStdout(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(STDOUT_FILENO, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) ::_exit(0);  // the reader went away (`| head`): done, quietly
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

int RunDecode(const config::Config& cfg) {
  const std::string& path = cfg.decode;
  int fd = STDIN_FILENO;
  if (path != "-") {
    // O_NONBLOCK so that a FIFO is refused at once instead of waiting for a writer.
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
      std::fprintf(stderr, "xtcp2: -decode %s: %s\n", path.c_str(), std::strerror(errno));
      return 1;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      std::fprintf(stderr,
                   "xtcp2: -decode %s: not a regular file (a stream is read with -decode -, from "
                   "stdin)\n",
                   path.c_str());
      ::close(fd);
      return 1;
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  }
  // jsonl stays the built-in printer; any other -marshal goes through its marshaller.
  std::unique_ptr<Marshaller> marshaller;
  if (cfg.marshal != "protobufList" && cfg.marshal != "jsonl") {
    auto m = CreateMarshaller({cfg.marshal, cfg.csv_columns});
    if (!m.ok()) {
      std::fprintf(stderr, "xtcp2: %s\n", std::string(m.status().message()).c_str());
      if (fd != STDIN_FILENO) ::close(fd);
      return 2;
    }
    marshaller = *std::move(m);
  }
  marshal::ProtobufListReader reader(fd);
  record::ProtoEnvelope envelope;
  std::string out, line, bytes;
  int rc = 0;
  for (;;) {
    const absl::StatusOr<bool> next = reader.Next(&envelope);
    if (!next.ok()) {
      std::fprintf(stderr, "xtcp2: -decode %s: %s\n", path.c_str(),
                   std::string(next.status().message()).c_str());
      rc = 1;
      break;
    }
    if (!*next) break;
    if (marshaller != nullptr) {
      bytes.clear();
      envelope.SerializeToString(&bytes);
      const EnvelopeView view{bytes, static_cast<uint32_t>(envelope.row_size())};
      if (absl::Status ms = marshaller->Marshal(view, &out); !ms.ok()) {
        std::fprintf(stderr, "xtcp2: -decode %s: -marshal %s near byte %llu: %s\n", path.c_str(),
                     cfg.marshal.c_str(), static_cast<unsigned long long>(reader.offset()),
                     std::string(ms.message()).c_str());
        rc = 1;
        break;
      }
    }
    for (const auto& row : envelope.row()) {
      if (marshaller != nullptr) break;
      line.clear();
      if (!google::protobuf::util::MessageToJsonString(row, &line, marshal::JsonOptions()).ok()) {
        std::fprintf(stderr, "xtcp2: -decode %s: record not printable as JSON near byte %llu\n",
                     path.c_str(), static_cast<unsigned long long>(reader.offset()));
        rc = 1;
        break;
      }
      out.append(line).push_back('\n');
    }
    if (rc != 0) break;
    if (out.size() >= (1u << 20)) {
      if (!WriteStdout(out)) {
        rc = 1;
        break;
      }
      out.clear();
    }
  }
  if (!WriteStdout(out)) rc = 1;
  if (fd != STDIN_FILENO) ::close(fd);
  return rc;
}

}  // namespace xtcp::main
