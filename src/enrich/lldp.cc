#include "enrich/lldp.h"

#include <lldpctl.h>

#include "absl/strings/str_cat.h"

namespace xtcp::enrich {
namespace {

std::string Str(lldpctl_atom_t* atom, lldpctl_key_t key) {
  const char* s = atom == nullptr ? nullptr : lldpctl_atom_get_str(atom, key);
  return s == nullptr ? "" : s;
}

// Releases an atom reference at scope exit.
struct Atom {
  explicit Atom(lldpctl_atom_t* a) : p(a) {}
  ~Atom() {
    if (p != nullptr) lldpctl_atom_dec_ref(p);
  }
  Atom(const Atom&) = delete;
  Atom& operator=(const Atom&) = delete;
  lldpctl_atom_t* p;
};

// Calls fn(value) for each element of a list atom (the value's reference is held for the call).
template <typename Fn>
void ForEach(lldpctl_atom_t* list, Fn fn) {
  for (lldpctl_atom_iter_t* it = lldpctl_atom_iter(list); it != nullptr;
       it = lldpctl_atom_iter_next(list, it)) {
    Atom value(lldpctl_atom_iter_value(list, it));
    if (value.p != nullptr) fn(value.p);
  }
}

absl::StatusOr<std::map<std::string, LldpNeighbor>> Neighbors(lldpctl_conn_t* conn,
                                                              const std::string& socket_path) {
  std::map<std::string, LldpNeighbor> out;
  Atom ifaces(lldpctl_get_interfaces(conn));
  if (ifaces.p == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("lldpd at ", socket_path, ": ", lldpctl_last_strerror(conn)));
  }
  ForEach(ifaces.p, [&](lldpctl_atom_t* iface) {
    const std::string name = Str(iface, lldpctl_k_interface_name);
    Atom port(lldpctl_get_port(iface));
    if (name.empty() || port.p == nullptr) return;
    Atom neighbors(lldpctl_atom_get(port.p, lldpctl_k_port_neighbors));
    if (neighbors.p == nullptr) return;
    ForEach(neighbors.p, [&](lldpctl_atom_t* n) {
      LldpNeighbor nb;
      nb.port_id = Str(n, lldpctl_k_port_id);
      nb.port_descr = Str(n, lldpctl_k_port_descr);
      Atom chassis(lldpctl_atom_get(n, lldpctl_k_port_chassis));
      nb.chassis_name = Str(chassis.p, lldpctl_k_chassis_name);
      nb.chassis_id = Str(chassis.p, lldpctl_k_chassis_id);
      if (chassis.p != nullptr) {
        Atom mgmts(lldpctl_atom_get(chassis.p, lldpctl_k_chassis_mgmt));
        if (mgmts.p != nullptr) {
          ForEach(mgmts.p, [&](lldpctl_atom_t* m) {
            if (nb.mgmt_ip.empty()) nb.mgmt_ip = Str(m, lldpctl_k_mgmt_ip);
          });
        }
      }
      out.emplace(name, std::move(nb));  // the first neighbour wins
    });
  });
  return out;
}

}  // namespace

absl::StatusOr<std::map<std::string, LldpNeighbor>> FetchLldpNeighbors(
    const std::string& socket_path) {
  LldpClient client(socket_path);
  return client.Fetch();
}

// Default (blocking) callbacks: one synchronous exchange per request on the Unix socket, which
// liblldpctl opens on the first request and keeps until an error.
LldpClient::LldpClient(std::string socket_path)
    : path_(std::move(socket_path)),
      conn_(lldpctl_new_name(path_.c_str(), nullptr, nullptr, nullptr)) {}

LldpClient::~LldpClient() {
  if (conn_ != nullptr) lldpctl_release(conn_);
}

absl::StatusOr<std::map<std::string, LldpNeighbor>> LldpClient::Fetch() {
  if (conn_ == nullptr) return absl::ResourceExhaustedError("lldpctl: out of memory");
  return Neighbors(conn_, path_);
}

}  // namespace xtcp::enrich
