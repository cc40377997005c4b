// The XDP side of an AF_XDP port, loaded once per interface by the main
// thread: an XSKMAP (one slot per rx queue) and a six-instruction program
// that redirects every frame to the XSK of the queue it arrived on (or lets
// the kernel have it when that slot is empty), attached through a bpf_link.
//
// Why by hand and not libxdp's loader: libxdp's multi-program dispatcher
// pins to bpffs, which containers and CI runners often lack, and its default
// program needs a BPF object file (clang). Six instructions need neither.
// Why a bpf_link and not the netlink attach: the link goes away with its
// last fd, so a dataplane that dies (even SIGKILL) leaves no program behind.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "af-xdp.h"

namespace dpio {

namespace {

std::string What(const char* fn, const std::string& ifname) {
  return std::string(fn) + "(\"" + ifname + "\")";
}

// Receive queues of the interface: ETHTOOL_GCHANNELS (veth reports rx_count,
// NICs combined_count), else one.
uint32_t RxQueues(const std::string& ifname) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return 1;
  struct ethtool_channels ch;
  std::memset(&ch, 0, sizeof ch);
  ch.cmd = ETHTOOL_GCHANNELS;
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  std::memcpy(ifr.ifr_name, ifname.data(), ifname.size());
  ifr.ifr_data = reinterpret_cast<char*>(&ch);
  int rc = ioctl(s, SIOCETHTOOL, &ifr);
  close(s);
  if (rc < 0) return 1;
  uint32_t n = ch.combined_count + ch.rx_count;
  return n == 0 ? 1 : n;
}

bpf_insn Insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i;
  std::memset(&i, 0, sizeof i);
  i.code = code;
  i.dst_reg = dst;
  i.src_reg = src;
  i.off = off;
  i.imm = imm;
  return i;
}

// return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
int LoadProgram(int mapFd, std::string& log) {
  bpf_insn prog[] = {
      Insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, offsetof(xdp_md, rx_queue_index), 0),
      Insn(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, mapFd),
      Insn(0, 0, 0, 0, 0),  // second half of the 64-bit immediate
      Insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, XDP_PASS),  // the action when the slot is empty
      Insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_redirect_map),
      Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
  };
  char buf[4096];
  buf[0] = '\0';
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_level = 1, .log_size = sizeof buf, .log_buf = buf);
  int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "dp_xsk_redir", "Dual BSD/GPL", prog, sizeof prog / sizeof prog[0], &opts);
  if (fd < 0) log = buf;
  return fd;
}

std::string AttachCause(int err, const std::string& ifname, bool native) {
  switch (err) {
    case EPERM:
    case EACCES:
      return "needs CAP_NET_ADMIN and CAP_BPF (run as root)";
    case EBUSY:
    case EEXIST:
      return "another XDP program is attached to " + ifname + " (see `ip link show " + ifname +
             "`; remove it with `ip link set dev " + ifname + " xdpgeneric off` or `xdp off`, or use an afpacket port)";
    case EOPNOTSUPP:
      return native ? "the driver of " + ifname + " has no native XDP (use xdpMode: generic or auto)"
                    : "the kernel cannot attach XDP to " + ifname;
    case ENODEV:
      return "interface " + ifname + " not found";
    case EINVAL:
      return native ? "the driver refused native XDP on " + ifname + " (MTU too large for XDP, or LRO on; try xdpMode: generic)"
                    : "the kernel refused the XDP program on " + ifname;
    default:
      return std::strerror(err);
  }
}

void Quiet() {
  // Our errors say what went wrong; libbpf's and libxdp's own stderr lines would only repeat it.
  static bool done = false;
  if (done) return;
  done = true;
  libbpf_set_print(nullptr);
  libxdp_set_print(nullptr);
}

// xdpAttach(ifname, { mode?: 'auto' | 'native' | 'generic' })
//   -> { linkFd, progFd, mapFd, queues, mode: 'native' | 'generic', note }
Napi::Value XdpAttach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Quiet();
  std::string ifname = ArgIfName(info, 0);
  std::string mode = "auto";
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Value m = info[1].As<Napi::Object>().Get("mode");
    if (m.IsString()) mode = m.As<Napi::String>().Utf8Value();
    else if (!m.IsUndefined()) ThrowType(env, "option mode must be a string");
  }
  if (mode != "auto" && mode != "native" && mode != "generic") ThrowRange(env, "xdpAttach: mode must be auto, native or generic");
  int ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
  if (ifindex == 0) ThrowErrno(env, ENODEV, "if_nametoindex", What("xdpAttach", ifname), "interface " + ifname + " not found", "ENODEV");
  uint32_t queues = RxQueues(ifname);

  int mapFd = bpf_map_create(BPF_MAP_TYPE_XSKMAP, "dp_xsks", 4, 4, queues, nullptr);
  if (mapFd < 0) {
    int e = errno;
    if (e == EINVAL || e == EOPNOTSUPP) {
      ThrowErrno(env, e, "bpf", What("xdpAttach", ifname), "the kernel has no XDP sockets (CONFIG_XDP_SOCKETS): use an afpacket port");
    }
    ThrowErrno(env, e, "bpf", What("xdpAttach", ifname), AttachCause(e, ifname, false));
  }
  std::string log;
  int progFd = LoadProgram(mapFd, log);
  if (progFd < 0) {
    int e = errno;
    close(mapFd);
    ThrowErrno(env, e, "bpf", What("xdpAttach", ifname),
               e == EPERM || e == EACCES ? AttachCause(e, ifname, false) : "the kernel refused the XDP program: " + log);
  }
  std::string note;
  std::string used;
  int linkFd = -1;
  int err = 0;
  bool tryNative = mode != "generic";
  if (tryNative) {
    LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = XDP_FLAGS_DRV_MODE);
    linkFd = bpf_link_create(progFd, ifindex, BPF_XDP, &lo);
    err = linkFd < 0 ? errno : 0;
    if (linkFd >= 0) used = "native";
  }
  if (linkFd < 0 && mode != "native" && err != EBUSY && err != EEXIST && err != EPERM && err != EACCES) {
    if (tryNative) note = "native XDP refused (" + std::string(std::strerror(err)) + "), generic (skb) mode";
    LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = XDP_FLAGS_SKB_MODE);
    linkFd = bpf_link_create(progFd, ifindex, BPF_XDP, &lo);
    err = linkFd < 0 ? errno : 0;
    if (linkFd >= 0) used = "generic";
  }
  if (linkFd < 0) {
    close(progFd);
    close(mapFd);
    ThrowErrno(env, err, "bpf_link_create", What("xdpAttach", ifname), AttachCause(err, ifname, mode == "native"));
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("linkFd", Napi::Number::New(env, linkFd));
  out.Set("progFd", Napi::Number::New(env, progFd));
  out.Set("mapFd", Napi::Number::New(env, mapFd));
  out.Set("queues", Napi::Number::New(env, queues));
  out.Set("mode", Napi::String::New(env, used));
  out.Set("note", Napi::String::New(env, note));
  return out;
}

// xdpDetach(linkFd, progFd, mapFd): closing the link detaches the program.
Napi::Value XdpDetach(const Napi::CallbackInfo& info) {
  for (size_t i = 0; i < 3 && i < info.Length(); i++) {
    int fd = ArgInt(info, i, "fd");
    if (fd >= 0) close(fd);
  }
  return info.Env().Undefined();
}

}  // namespace

void InitXdpProg(Napi::Env env, Napi::Object exports) {
  exports.Set("xdpAttach", Napi::Function::New(env, XdpAttach, "xdpAttach"));
  exports.Set("xdpDetach", Napi::Function::New(env, XdpDetach, "xdpDetach"));
}

}  // namespace dpio
