#include "observe/pprof_proto.h"

#include <cxxabi.h>
#include <elfutils/libdwfl.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "perftools/profiles/profile.pb.h"

namespace xtcp::observe {
namespace {

namespace pb = ::perftools::profiles;

std::string Demangle(const char* name) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string out = status == 0 && demangled != nullptr ? demangled : name;
  std::free(demangled);
  return out;
}

// This process's loaded objects and their symbols, through libdwfl. Not thread-safe; one per
// conversion (reporting reads /proc/self/maps, so it sees what is loaded now).
class Symbolizer {
 public:
  Symbolizer() : dwfl_(dwfl_begin(&kCallbacks)) {
    if (dwfl_ == nullptr) return;
    dwfl_report_begin(dwfl_);
    if (dwfl_linux_proc_report(dwfl_, getpid()) != 0) {
      dwfl_report_end(dwfl_, nullptr, nullptr);
      return;
    }
    dwfl_report_end(dwfl_, nullptr, nullptr);
  }
  ~Symbolizer() {
    if (dwfl_ != nullptr) dwfl_end(dwfl_);
  }
  Symbolizer(const Symbolizer&) = delete;
  Symbolizer& operator=(const Symbolizer&) = delete;

  Dwfl_Module* ModuleOf(uint64_t pc) const {
    return dwfl_ == nullptr ? nullptr : dwfl_addrmodule(dwfl_, pc);
  }

  // The linker's (mangled) name of the function containing pc, or "".
  std::string SystemName(uint64_t pc) const {
    Dwfl_Module* mod = ModuleOf(pc);
    const char* name = mod != nullptr ? dwfl_module_addrname(mod, pc) : nullptr;
    return name != nullptr ? name : "";
  }

 private:
  static constexpr Dwfl_Callbacks kCallbacks = {dwfl_linux_proc_find_elf,
                                                dwfl_standard_find_debuginfo, nullptr, nullptr};
  Dwfl* dwfl_;
};

class ProfileBuilder {
 public:
  explicit ProfileBuilder(const Symbolizer* sym) : sym_(sym) { Str(""); }

  int64_t Str(const std::string& s) {
    auto [it, inserted] = strings_.emplace(s, p_.string_table_size());
    if (inserted) p_.add_string_table(s);
    return it->second;
  }

  void SampleType(const std::string& type, const std::string& unit) {
    pb::ValueType* vt = p_.add_sample_type();
    vt->set_type(Str(type));
    vt->set_unit(Str(unit));
  }

  // A stack (leaf first; callers already adjusted into their call instruction) and its values.
  void Sample(const std::vector<uint64_t>& pcs, const std::vector<int64_t>& values) {
    pb::Sample* s = p_.add_sample();
    for (uint64_t pc : pcs) s->add_location_id(Location(pc));
    for (int64_t v : values) s->add_value(v);
  }

  void Period(const std::string& type, const std::string& unit, int64_t period) {
    p_.mutable_period_type()->set_type(Str(type));
    p_.mutable_period_type()->set_unit(Str(unit));
    p_.set_period(period);
  }
  void Timing(absl::Time start, absl::Duration wall) {
    if (start != absl::UnixEpoch()) p_.set_time_nanos(absl::ToUnixNanos(start));
    p_.set_duration_nanos(absl::ToInt64Nanoseconds(wall));
  }

  std::string Finish() { return p_.SerializeAsString(); }

 private:
  uint64_t Mapping(Dwfl_Module* mod) {
    auto it = mapping_ids_.find(mod);
    if (it != mapping_ids_.end()) return it->second;
    Dwarf_Addr low = 0, high = 0;
    const char* name =
        dwfl_module_info(mod, nullptr, &low, &high, nullptr, nullptr, nullptr, nullptr);
    pb::Mapping* m = p_.add_mapping();
    m->set_id(static_cast<uint64_t>(p_.mapping_size()));
    m->set_memory_start(low);
    m->set_memory_limit(high);
    m->set_file_offset(0);  // a module's range starts at its first PT_LOAD, file offset 0
    m->set_filename(Str(name != nullptr ? name : ""));
    const unsigned char* bits = nullptr;
    GElf_Addr vaddr = 0;
    const int len = dwfl_module_build_id(mod, &bits, &vaddr);
    if (len > 0) {
      m->set_build_id(Str(absl::BytesToHexString(
          absl::string_view(reinterpret_cast<const char*>(bits), static_cast<size_t>(len)))));
    }
    m->set_has_functions(true);  // nothing left to symbolize
    mapping_ids_[mod] = m->id();
    return m->id();
  }

  uint64_t Location(uint64_t pc) {
    auto it = location_ids_.find(pc);
    if (it != location_ids_.end()) return it->second;
    pb::Location* l = p_.add_location();
    const uint64_t id = static_cast<uint64_t>(p_.location_size());
    l->set_id(id);
    l->set_address(pc);
    if (Dwfl_Module* mod = sym_->ModuleOf(pc)) l->set_mapping_id(Mapping(mod));
    const std::string system_name = sym_->SystemName(pc);
    if (!system_name.empty()) l->add_line()->set_function_id(Function(system_name));
    location_ids_[pc] = id;
    return id;
  }

  uint64_t Function(const std::string& system_name) {
    auto it = function_ids_.find(system_name);
    if (it != function_ids_.end()) return it->second;
    pb::Function* f = p_.add_function();
    f->set_id(static_cast<uint64_t>(p_.function_size()));
    f->set_name(Str(Demangle(system_name.c_str())));
    f->set_system_name(Str(system_name));
    function_ids_[system_name] = f->id();
    return f->id();
  }

  const Symbolizer* sym_;
  pb::Profile p_;
  std::map<uint64_t, uint64_t> location_ids_;
  std::map<Dwfl_Module*, uint64_t> mapping_ids_;
  std::map<std::string, uint64_t> function_ids_;
  std::map<std::string, int64_t> strings_;
};

}  // namespace

std::string SymbolizePc(uint64_t pc) {
  const std::string name = Symbolizer().SystemName(pc);
  return name.empty() ? name : Demangle(name.c_str());
}

absl::StatusOr<std::string> CpuProfileToPprof(absl::string_view legacy, absl::Time start,
                                              absl::Duration wall) {
  // Header: 0, 3 (header words), 0 (version), sampling period in us, 0. Then records
  // [count, depth, pc * depth] until the trailer [0, 1, 0]; then the text of /proc/self/maps.
  const size_t words = legacy.size() / sizeof(uint64_t);
  auto word = [&](size_t i) {
    uint64_t w;
    std::memcpy(&w, legacy.data() + i * sizeof(uint64_t), sizeof(w));
    return w;
  };
  if (words < 5 || word(0) != 0 || word(1) != 3 || word(2) != 0 || word(3) == 0) {
    return absl::DataLossError("not a gperftools CPU profile");
  }
  const int64_t period_ns = static_cast<int64_t>(word(3)) * 1000;
  Symbolizer sym;
  ProfileBuilder b(&sym);
  b.SampleType("samples", "count");
  b.SampleType("cpu", "nanoseconds");
  b.Period("cpu", "nanoseconds", period_ns);
  size_t i = 5;
  for (;;) {
    if (i + 2 > words) return absl::DataLossError("truncated CPU profile");
    const uint64_t count = word(i), depth = word(i + 1);
    if (count == 0 && depth == 1 && i + 2 < words && word(i + 2) == 0) break;  // trailer
    if (depth > 1024 || i + 2 + depth > words) return absl::DataLossError("bad CPU profile record");
    std::vector<uint64_t> pcs;
    for (uint64_t d = 0; d < depth; ++d) {
      const uint64_t pc = word(i + 2 + d);
      pcs.push_back(d == 0 || pc == 0 ? pc : pc - 1);  // callers: into the call instruction
    }
    b.Sample(pcs, {static_cast<int64_t>(count), static_cast<int64_t>(count) * period_ns});
    i += 2 + depth;
  }
  b.Timing(start, wall);
  return b.Finish();
}

absl::StatusOr<std::string> HeapSampleToPprof(absl::string_view legacy) {
  std::vector<absl::string_view> lines = absl::StrSplit(legacy, '\n');
  if (lines.empty() || lines[0].rfind("heap profile:", 0) != 0) {
    return absl::DataLossError("not a heap profile");
  }
  int64_t rate = 0;  // heap_v2/<rate>: samples are taken every `rate` bytes on average
  if (const size_t at = lines[0].find("heap_v2/"); at != absl::string_view::npos) {
    (void)absl::SimpleAtoi(lines[0].substr(at + 8), &rate);
  }
  Symbolizer sym;
  ProfileBuilder b(&sym);
  b.SampleType("inuse_objects", "count");
  b.SampleType("inuse_space", "bytes");
  if (rate > 0) b.Period("space", "bytes", rate);
  for (size_t li = 1; li < lines.size(); ++li) {
    const absl::string_view line = lines[li];
    if (line.rfind("MAPPED_LIBRARIES", 0) == 0) break;
    const size_t at = line.find('@');
    if (at == absl::string_view::npos) continue;
    // "<count>: <bytes> [<count>: <bytes>] @ 0x... 0x..."
    std::vector<int64_t> nums;
    for (absl::string_view tok :
         absl::StrSplit(line.substr(0, at), absl::ByAnyChar(" :[]"), absl::SkipEmpty())) {
      int64_t v = 0;
      if (absl::SimpleAtoi(tok, &v)) nums.push_back(v);
    }
    if (nums.size() < 2) continue;
    std::vector<uint64_t> pcs;
    for (absl::string_view tok : absl::StrSplit(line.substr(at + 1), ' ', absl::SkipEmpty())) {
      uint64_t pc = 0;
      if (absl::SimpleHexAtoi(absl::StripAsciiWhitespace(tok), &pc)) {
        pcs.push_back(pcs.empty() || pc == 0 ? pc : pc - 1);
      }
    }
    double count = static_cast<double>(nums[0]), bytes = static_cast<double>(nums[1]);
    if (rate > 1 && count > 0 && bytes > 0) {
      const double scale = 1 / (1 - std::exp(-(bytes / count) / static_cast<double>(rate)));
      count *= scale;
      bytes *= scale;
    }
    b.Sample(pcs, {static_cast<int64_t>(count), static_cast<int64_t>(bytes)});
  }
  return b.Finish();
}

}  // namespace xtcp::observe
