#include "observe/pprof_proto.h"

#include <cxxabi.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace xtcp::observe {
namespace {

// ---- symbols of the loaded objects ----

struct Symbol {
  uint64_t start;  // ELF virtual address (before the load bias)
  uint64_t end;
  const char* name;  // into Object::strtab
};

struct Segment {
  uint64_t start, limit, offset;  // runtime addresses and file offset of an executable PT_LOAD
};

struct Object {
  std::string path;  // file to read symbols from
  std::string display;
  uint64_t bias = 0;
  std::vector<Segment> segments;
  std::vector<Symbol> symbols;
  std::string strtab;
};

bool ReadAt(int fd, void* buf, size_t len, uint64_t off) {
  size_t done = 0;
  while (done < len) {
    const ssize_t n =
        pread(fd, static_cast<char*>(buf) + done, len - done, static_cast<off_t>(off + done));
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Function symbols of an ELF64 file: .symtab when present (unstripped binaries), else .dynsym.
void LoadSymbols(Object* obj) {
  const int fd = open(obj->path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  Elf64_Ehdr eh;
  std::vector<Elf64_Shdr> sh;
  if (ReadAt(fd, &eh, sizeof(eh), 0) && std::memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
      eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_shentsize == sizeof(Elf64_Shdr) &&
      eh.e_shnum > 0 && eh.e_shnum < 65535) {
    sh.resize(eh.e_shnum);
    if (!ReadAt(fd, sh.data(), sh.size() * sizeof(Elf64_Shdr), eh.e_shoff)) sh.clear();
  }
  int pick = -1;
  for (size_t i = 0; i < sh.size(); ++i) {
    if (sh[i].sh_type == SHT_SYMTAB) pick = static_cast<int>(i);
    if (sh[i].sh_type == SHT_DYNSYM && pick < 0) pick = static_cast<int>(i);
  }
  if (pick >= 0 && sh[pick].sh_link < sh.size() && sh[pick].sh_size < (1u << 30) &&
      sh[sh[pick].sh_link].sh_size < (1u << 30)) {
    const Elf64_Shdr& symtab = sh[pick];
    const Elf64_Shdr& strtab = sh[symtab.sh_link];
    std::vector<Elf64_Sym> syms(symtab.sh_size / sizeof(Elf64_Sym));
    obj->strtab.resize(strtab.sh_size + 1);
    if (ReadAt(fd, syms.data(), syms.size() * sizeof(Elf64_Sym), symtab.sh_offset) &&
        ReadAt(fd, obj->strtab.data(), strtab.sh_size, strtab.sh_offset)) {
      for (const Elf64_Sym& s : syms) {
        const int type = ELF64_ST_TYPE(s.st_info);
        if ((type != STT_FUNC && type != STT_GNU_IFUNC) || s.st_value == 0 ||
            s.st_name >= strtab.sh_size) {
          continue;
        }
        obj->symbols.push_back(
            {s.st_value, s.st_value + std::max<uint64_t>(s.st_size, 1), &obj->strtab[s.st_name]});
      }
      std::sort(obj->symbols.begin(), obj->symbols.end(),
                [](const Symbol& a, const Symbol& b) { return a.start < b.start; });
    }
  }
  close(fd);
}

int AddObject(dl_phdr_info* info, size_t, void* data) {
  auto* objects = static_cast<std::vector<std::unique_ptr<Object>>*>(data);
  auto obj = std::make_unique<Object>();
  const bool main_program = info->dlpi_name == nullptr || info->dlpi_name[0] == '\0';
  obj->path = main_program ? "/proc/self/exe" : info->dlpi_name;
  obj->display = obj->path;
  if (main_program) {
    char buf[4096];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (n > 0) obj->display.assign(buf, static_cast<size_t>(n));
  }
  obj->bias = info->dlpi_addr;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
    const uint64_t start = info->dlpi_addr + ph.p_vaddr;
    obj->segments.push_back(
        {start & ~uint64_t{4095}, start + ph.p_memsz, ph.p_offset & ~uint64_t{4095}});
  }
  if (!obj->segments.empty()) objects->push_back(std::move(obj));
  return 0;
}

class Symbolizer {
 public:
  Symbolizer() {
    dl_iterate_phdr(&AddObject, &objects_);
    for (auto& o : objects_) {
      if (o->display.rfind("linux-vdso", 0) != 0) LoadSymbols(o.get());
    }
  }

  // Index of the object whose executable segment holds pc, or -1.
  int ObjectOf(uint64_t pc) const {
    for (size_t i = 0; i < objects_.size(); ++i) {
      for (const Segment& s : objects_[i]->segments) {
        if (pc >= s.start && pc < s.limit) return static_cast<int>(i);
      }
    }
    return -1;
  }

  std::string FunctionAt(uint64_t pc) const {
    const int idx = ObjectOf(pc);
    if (idx < 0) return "";
    const Object& o = *objects_[idx];
    const uint64_t rel = pc - o.bias;
    auto it = std::upper_bound(o.symbols.begin(), o.symbols.end(), rel,
                               [](uint64_t v, const Symbol& s) { return v < s.start; });
    if (it == o.symbols.begin()) return "";
    --it;
    if (rel >= it->end) return "";
    int status = 0;
    char* demangled = abi::__cxa_demangle(it->name, nullptr, nullptr, &status);
    std::string name = status == 0 && demangled != nullptr ? demangled : it->name;
    std::free(demangled);
    return name;
  }

  const std::vector<std::unique_ptr<Object>>& objects() const { return objects_; }

 private:
  std::vector<std::unique_ptr<Object>> objects_;
};

// ---- profile.proto encoding (perftools.profiles, proto3 wire format) ----

class Pb {
 public:
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void Int(int field, uint64_t v) {
    if (v == 0) return;
    Varint(static_cast<uint64_t>(field) << 3);
    Varint(v);
  }
  void Bytes(int field, absl::string_view b) {
    Varint((static_cast<uint64_t>(field) << 3) | 2);
    Varint(b.size());
    out_.append(b.data(), b.size());
  }
  void Packed(int field, const std::vector<uint64_t>& vs) {
    Pb inner;
    for (uint64_t v : vs) inner.Varint(v);
    Bytes(field, inner.out_);
  }
  const std::string& str() const { return out_; }

 private:
  std::string out_;
};

class ProfileBuilder {
 public:
  explicit ProfileBuilder(const Symbolizer* sym) : sym_(sym) { Str(""); }

  int64_t Str(const std::string& s) {
    auto [it, inserted] = strings_.emplace(s, static_cast<int64_t>(table_.size()));
    if (inserted) table_.push_back(s);
    return it->second;
  }

  void SampleType(const std::string& type, const std::string& unit) {
    Pb vt;
    vt.Int(1, Str(type));
    vt.Int(2, Str(unit));
    top_.Bytes(1, vt.str());
  }

  // A stack (leaf first; callers already adjusted into their call instruction) and its values.
  void Sample(const std::vector<uint64_t>& pcs, const std::vector<int64_t>& values) {
    std::vector<uint64_t> ids, vals;
    for (uint64_t pc : pcs) ids.push_back(Location(pc));
    for (int64_t v : values) vals.push_back(static_cast<uint64_t>(v));
    Pb s;
    s.Packed(1, ids);
    s.Packed(2, vals);
    samples_.push_back(s.str());
  }

  void Period(const std::string& type, const std::string& unit, int64_t period) {
    Pb vt;
    vt.Int(1, Str(type));
    vt.Int(2, Str(unit));
    period_type_ = vt.str();
    period_ = period;
  }
  void DurationNanos(int64_t d) { duration_ = d; }

  std::string Finish() {
    Pb& p = top_;
    for (const std::string& s : samples_) p.Bytes(2, s);
    const auto& objs = sym_->objects();
    for (size_t i = 0; i < objs.size(); ++i) {
      for (size_t j = 0; j < objs[i]->segments.size(); ++j) {
        const Segment& seg = objs[i]->segments[j];
        Pb m;
        m.Int(1, MappingId(static_cast<int>(i), static_cast<int>(j)));
        m.Int(2, seg.start);
        m.Int(3, seg.limit);
        m.Int(4, seg.offset);
        m.Int(5, Str(objs[i]->display));
        m.Int(7, 1);  // has_functions: nothing left to symbolize
        p.Bytes(3, m.str());
      }
    }
    for (const std::string& l : locations_) p.Bytes(4, l);
    for (const std::string& f : functions_) p.Bytes(5, f);
    p.Int(10, static_cast<uint64_t>(duration_));
    if (!period_type_.empty()) p.Bytes(11, period_type_);
    p.Int(12, static_cast<uint64_t>(period_));
    std::string out = p.str();
    Pb strings;  // the string table goes last so every Str() above is in it
    for (const std::string& s : table_) strings.Bytes(6, s);
    return out + strings.str();
  }

 private:
  uint64_t MappingId(int object, int segment) const {
    uint64_t id = 1;
    const auto& objs = sym_->objects();
    for (int i = 0; i < object; ++i) id += objs[i]->segments.size();
    return id + static_cast<uint64_t>(segment);
  }

  uint64_t Location(uint64_t pc) {
    auto it = location_ids_.find(pc);
    if (it != location_ids_.end()) return it->second;
    const uint64_t id = locations_.size() + 1;
    Pb l;
    l.Int(1, id);
    const int obj = sym_->ObjectOf(pc);
    if (obj >= 0) {
      const auto& segs = sym_->objects()[obj]->segments;
      for (size_t j = 0; j < segs.size(); ++j) {
        if (pc >= segs[j].start && pc < segs[j].limit) {
          l.Int(2, MappingId(obj, static_cast<int>(j)));
        }
      }
    }
    l.Int(3, pc);
    const std::string name = sym_->FunctionAt(pc);
    if (!name.empty()) {
      Pb line;
      line.Int(1, Function(name));
      l.Bytes(4, line.str());
    }
    locations_.push_back(l.str());
    location_ids_[pc] = id;
    return id;
  }

  uint64_t Function(const std::string& name) {
    auto it = function_ids_.find(name);
    if (it != function_ids_.end()) return it->second;
    const uint64_t id = functions_.size() + 1;
    Pb f;
    f.Int(1, id);
    f.Int(2, Str(name));
    f.Int(3, Str(name));
    functions_.push_back(f.str());
    function_ids_[name] = id;
    return id;
  }

  const Symbolizer* sym_;
  Pb top_;
  std::vector<std::string> samples_, locations_, functions_;
  std::map<uint64_t, uint64_t> location_ids_;
  std::map<std::string, uint64_t> function_ids_;
  std::map<std::string, int64_t> strings_;
  std::vector<std::string> table_;
  std::string period_type_;
  int64_t period_ = 0;
  int64_t duration_ = 0;
};

}  // namespace

std::string SymbolizePc(uint64_t pc) { return Symbolizer().FunctionAt(pc); }

absl::StatusOr<std::string> CpuProfileToPprof(absl::string_view legacy) {
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
  int64_t total = 0;
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
    total += static_cast<int64_t>(count);
    i += 2 + depth;
  }
  b.DurationNanos(total * period_ns);
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
