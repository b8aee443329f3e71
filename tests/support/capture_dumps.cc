#include "support/capture_dumps.h"

#include <netinet/in.h>

#include <limits>
#include <map>
#include <utility>

#include "decode/kernel_layout.h"

namespace xtcp::testing {

int Dump::family() const {
  int fam = 0;
  for (const record::RecordPayload& p : sockets) {
    const int f = static_cast<int>(p.inet_diag_msg_family);
    if (fam != 0 && f != fam) return 0;
    fam = f;
  }
  return fam;
}

std::vector<record::RecordPayload> DecodeDatagram(std::span<const uint8_t> datagram,
                                                  decode::DecodeProblems* problems) {
  decode::DecodeOptions opts;
  opts.deserializers = decode::DeserializerSet::All();
  record::FlatRecord scratch;
  std::vector<record::RecordPayload> out;
  decode::WalkDatagram(datagram, opts, &scratch, problems,
                       [&](uint32_t, record::FlatRecord& rec) { out.push_back(rec.payload); });
  return out;
}

std::vector<Dump> DecodeDumps(const decode::Capture& capture) {
  std::vector<Dump> dumps;
  std::map<std::pair<int64_t, uint32_t>, size_t> index;
  decode::DecodeOptions opts;
  opts.deserializers = decode::DeserializerSet::All();
  record::FlatRecord scratch;
  for (const decode::CapturedDatagram& d : capture.datagrams) {
    const uint32_t seq =
        d.bytes.size() >= decode::kNlmsgHdrLen ? decode::Load<uint32_t>(d.bytes.data() + 8) : 0;
    auto [it, added] = index.try_emplace({d.poll_time_ns, seq}, dumps.size());
    if (added) {
      dumps.emplace_back();
      dumps.back().poll_time_ns = d.poll_time_ns;
      dumps.back().seq = seq;
    }
    Dump& dump = dumps[it->second];
    ++dump.datagrams;
    const decode::WalkResult r = decode::WalkDatagram(
        d.bytes, opts, &scratch, &dump.problems,
        [&](uint32_t, record::FlatRecord& rec) { dump.sockets.push_back(rec.payload); });
    dump.done |= r.done;
  }
  return dumps;
}

std::vector<SsSocket> SocketsOfFamily(const SsListing& listing, int family) {
  std::vector<SsSocket> out;
  for (const SsSocket& s : listing.sockets) {
    if (s.local.family == family) out.push_back(s);
  }
  return out;
}

ListingReport BestDumpFor(std::span<const Dump> dumps, const SsListing& listing, int family,
                          const CompareOptions& opts, int* index) {
  const std::vector<SsSocket> listed = SocketsOfFamily(listing, family);
  ListingReport best;
  size_t best_problems = std::numeric_limits<size_t>::max();
  *index = -1;
  for (size_t i = 0; i < dumps.size(); ++i) {
    const int fam = dumps[i].family();
    if (fam != family && !(fam == 0 && dumps[i].sockets.empty())) continue;
    ListingReport r = CompareListing(dumps[i].sockets, listed, opts);
    if (r.problems() < best_problems) {
      best_problems = r.problems();
      best = std::move(r);
      *index = static_cast<int>(i);
      if (best_problems == 0) break;
    }
  }
  if (*index < 0) best = CompareListing({}, listed, opts);  // nothing to hold them against
  return best;
}

}  // namespace xtcp::testing
