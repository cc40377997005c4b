// An evenly paced 64-byte UDP generator for the live benchmarks (measure.ts
// trafgenLoad with `paced`): the frames of trafgenConfig in measure.ts, at a
// given rate, until SIGINT or SIGTERM.
//
// Why not trafgen at a rate: `-b N pps` sends a second's N frames at full
// speed and then sleeps out the second (a ~140 ms burst on this VM), and
// `-t gap` sleeps once per frame and wakes tens of µs late (timer slack, a
// loaded VM), so small gaps come out far slower than asked (100-135 kpps
// for 533 on a quiet machine, 20-30 kpps on a loaded one). Here the
// sender wakes every tick (clock_nanosleep to an absolute deadline, timer
// slack 1 ns), works out how many frames the rate owes since the start and
// sends them with sendmmsg: at 500 kpps and a 100 µs tick that is 50 frames
// per wake, so the rate is the asked one and the pacing is even at any
// window longer than a tick. When the sender falls behind by more than a few
// ticks it catches up on at most MAX_DEBT_US of frames (a scheduler slice
// taken by another job) and drops the older debt instead of bursting it out:
// the interface counters then show the shortfall as a lower offered rate,
// which is what the benches report.
//
// The frames: by default 256 source ports (0x9c00..0x9cff) to port 9, one
// after the other. The stateful benches (nat.ts, lb.ts, firewall.ts) need
// the same generator for every subject, with their own traffic:
//   -d PORT   the destination port;
//   -f N      established: N flows, source ports -s BASE .. BASE+N-1 over and
//             over (each packet after the first round finds its flow);
//   -n LO-HI  new flows: every packet a new (source address, source port):
//             the address's last byte walks LO..HI packet by packet and the
//             port (1024..65535) moves on once per round of addresses, so no
//             pair repeats within (HI-LO+1) * 64512 packets;
//   -c N      stop after N frames (a probe), instead of at SIGINT.
//
// usage: pacer [-d DPORT] [-f FLOWS [-s SPORT_BASE] | -n LO-HI] [-c COUNT] DEV DST_MAC SRC_MAC SRC_IP DST_IP RATE_PPS [TICK_US [MAX_DEBT_US]]
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FRAME_LEN 60
#define DEFAULT_FLOWS 256 /* source ports 0x9c00..0x9cff, as trafgen's drnd() byte */
#define MAX_FLOWS 65536
#define MAX_PER_CALL 64
#define NEW_FLOW_PORTS 64512 /* 1024..65535 */

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static int parse_mac(const char *s, uint8_t *out) {
  unsigned b[6];
  if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6) return -1;
  for (int i = 0; i < 6; i++) {
    if (b[i] > 255) return -1;
    out[i] = (uint8_t)b[i];
  }
  return 0;
}

static uint16_t ip_checksum(const uint8_t *h) {
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += (uint32_t)(h[i] << 8 | h[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

/* One frame: Ethernet, IPv4 (checksummed), UDP without checksum (0: none, as IPv4 allows), 18 bytes of 0x41. */
static void build_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint32_t sip, uint32_t dip, uint16_t sport, uint16_t dport) {
  memset(f, 0x41, FRAME_LEN);
  memcpy(f, dst, 6);
  memcpy(f + 6, src, 6);
  f[12] = 0x08, f[13] = 0x00;
  uint8_t ip[20] = {0x45, 0x00, 0x00, 0x2e, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0, 0};
  memcpy(ip + 12, &sip, 4);
  memcpy(ip + 16, &dip, 4);
  uint16_t c = ip_checksum(ip);
  ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
  memcpy(f + 14, ip, 20);
  uint8_t udp[8] = {(uint8_t)(sport >> 8), (uint8_t)sport, (uint8_t)(dport >> 8), (uint8_t)dport, 0x00, 0x1a, 0x00, 0x00};
  memcpy(f + 34, udp, 8);
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void usage(void) {
  fprintf(stderr, "usage: pacer [-d DPORT] [-f FLOWS [-s SPORT_BASE] | -n LO-HI] [-c COUNT] DEV DST_MAC SRC_MAC SRC_IP DST_IP RATE_PPS [TICK_US [MAX_DEBT_US]]\n");
}

int main(int argc, char **argv) {
  long dport = 9, flows = 0, count = 0, sport_base = 0x9c00, new_lo = -1, new_hi = -1;
  int opt;
  while ((opt = getopt(argc, argv, "+d:f:s:n:c:")) != -1) {
    char *end = NULL;
    switch (opt) {
    case 'd': dport = strtol(optarg, &end, 10); break;
    case 'f': flows = strtol(optarg, &end, 10); break;
    case 'c': count = strtol(optarg, &end, 10); break;
    case 's': sport_base = strtol(optarg, &end, 10); break;
    case 'n':
      if (sscanf(optarg, "%ld-%ld", &new_lo, &new_hi) != 2) new_lo = -1;
      end = optarg + strlen(optarg);
      break;
    default: usage(); return 2;
    }
    if (end == NULL || *end != '\0') {
      fprintf(stderr, "pacer: -%c %s is not a number\n", opt, optarg);
      return 2;
    }
  }
  if (count < 0) {
    fprintf(stderr, "pacer: -c must be a count of frames\n");
    return 2;
  }
  if (dport < 1 || dport > 65535) {
    fprintf(stderr, "pacer: -d must be a port 1-65535\n");
    return 2;
  }
  if (flows < 0 || flows > MAX_FLOWS || sport_base < 1 || sport_base + (flows > 0 ? flows : DEFAULT_FLOWS) - 1 > 65535) {
    fprintf(stderr, "pacer: -f must be 1-%d flows and -s a base port whose flows end at or below 65535\n", MAX_FLOWS);
    return 2;
  }
  int new_flows = new_lo != -1 || new_hi != -1;
  if (new_flows && (new_lo < 1 || new_hi > 254 || new_lo > new_hi || flows > 0)) {
    fprintf(stderr, "pacer: -n takes LO-HI, last address bytes 1-254, LO <= HI, and not with -f\n");
    return 2;
  }
  argc -= optind - 1;
  argv += optind - 1;
  if (argc < 7) {
    usage();
    return 2;
  }
  uint8_t dst[6], src[6];
  struct in_addr sip, dip;
  double rate = atof(argv[6]);
  int64_t tick = (argc > 7 ? atoi(argv[7]) : 100) * 1000LL;
  int64_t max_debt = (argc > 8 ? atoi(argv[8]) : 2000) * 1000LL;
  if (parse_mac(argv[2], dst) < 0 || parse_mac(argv[3], src) < 0) {
    fprintf(stderr, "pacer: bad MAC address\n");
    return 2;
  }
  if (inet_pton(AF_INET, argv[4], &sip) != 1 || inet_pton(AF_INET, argv[5], &dip) != 1) {
    fprintf(stderr, "pacer: bad IPv4 address\n");
    return 2;
  }
  if (!(rate > 0) || tick <= 0 || max_debt < tick) {
    fprintf(stderr, "pacer: RATE_PPS and TICK_US must be positive, MAX_DEBT_US at least TICK_US\n");
    return 2;
  }
  // Established (and the default): every frame built once, sent in turn. New
  // flows: each call's frames are built into a scratch of MAX_PER_CALL slots.
  long variants = new_flows ? MAX_PER_CALL : (flows > 0 ? flows : DEFAULT_FLOWS);
  uint8_t (*frames)[FRAME_LEN] = calloc((size_t)variants, FRAME_LEN);
  if (frames == NULL) {
    perror("pacer: calloc");
    return 1;
  }
  if (!new_flows)
    for (long v = 0; v < variants; v++) build_frame(frames[v], dst, src, sip.s_addr, dip.s_addr, (uint16_t)(sport_base + v), (uint16_t)dport);
  long span = new_flows ? new_hi - new_lo + 1 : 1;
  uint32_t net24 = ntohl(sip.s_addr) & 0xffffff00u;
  uint64_t made = 0; /* new flows made so far */
  int ifindex = (int)if_nametoindex(argv[1]);
  if (ifindex == 0) {
    fprintf(stderr, "pacer: interface %s not found\n", argv[1]);
    return 1;
  }
  int fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0) {
    perror("pacer: socket(AF_PACKET)");
    return 1;
  }
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = ifindex;
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
    perror("pacer: bind");
    return 1;
  }
  // Wake at the deadline, not up to 50 µs after it (the default slack).
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);

  struct mmsghdr msgs[MAX_PER_CALL];
  struct iovec iov[MAX_PER_CALL];
  memset(msgs, 0, sizeof msgs);
  uint64_t sent = 0, dropped_debt = 0;
  unsigned long variant = 0;
  int64_t t0 = now_ns();
  int64_t next = t0;
  double per_ns = rate / 1e9;
  while (!stop) {
    int64_t now = now_ns();
    uint64_t owed = (uint64_t)((double)(now - t0) * per_ns) + 1;
    uint64_t debt = owed > sent + dropped_debt ? owed - sent - dropped_debt : 0;
    if (count > 0 && sent + debt > (uint64_t)count) debt = (uint64_t)count - sent;
    uint64_t cap = (uint64_t)(rate * (double)max_debt / 1e9) + 1;
    if (debt > cap) {
      dropped_debt += debt - cap;
      debt = cap;
    }
    while (debt > 0 && !stop) {
      int n = debt > MAX_PER_CALL ? MAX_PER_CALL : (int)debt;
      for (int i = 0; i < n; i++) {
        if (new_flows) {
          uint64_t k = made + (uint64_t)i;
          uint32_t a = htonl(net24 | (uint32_t)(new_lo + (long)(k % (uint64_t)span)));
          build_frame(frames[i], dst, src, a, dip.s_addr, (uint16_t)(1024 + (k / (uint64_t)span) % NEW_FLOW_PORTS), (uint16_t)dport);
          iov[i].iov_base = frames[i];
        } else {
          iov[i].iov_base = frames[variant];
          variant = variant + 1 == (unsigned long)variants ? 0 : variant + 1;
        }
        iov[i].iov_len = FRAME_LEN;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      int r = sendmmsg(fd, msgs, (unsigned)n, 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno == ENOBUFS || errno == EAGAIN) break; /* the queue is full: the next tick retries */
        perror("pacer: sendmmsg");
        return 1;
      }
      sent += (uint64_t)r;
      debt -= (uint64_t)r;
      made += (uint64_t)r;
      /* frames not taken are sent again next tick (established: the variant index rewinds) */
      if (!new_flows) variant = (unsigned long)((variant + (unsigned long)variants - (unsigned long)(n - r)) % (unsigned long)variants);
      if (r < n) break;
    }
    if (count > 0 && sent >= (uint64_t)count) break;
    next += tick;
    if (next < now) next = now;
    struct timespec ts = {.tv_sec = next / 1000000000, .tv_nsec = next % 1000000000};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
  }
  double secs = (double)(now_ns() - t0) / 1e9;
  fprintf(stderr, "pacer: sent %llu frames in %.3f s (%.0f pps, asked %.0f), %llu owed frames skipped\n", (unsigned long long)sent, secs,
          (double)sent / secs, rate, (unsigned long long)dropped_debt);
  return 0;
}
