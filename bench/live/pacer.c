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
// usage: pacer DEV DST_MAC SRC_MAC SRC_IP DST_IP RATE_PPS [TICK_US [MAX_DEBT_US]]
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

#define FRAME_LEN 60
#define VARIANTS 256 /* source ports 0x9c00..0x9cff, as trafgen's drnd() byte */
#define MAX_PER_CALL 64

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

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 7) {
    fprintf(stderr, "usage: pacer DEV DST_MAC SRC_MAC SRC_IP DST_IP RATE_PPS [TICK_US [MAX_DEBT_US]]\n");
    return 2;
  }
  static uint8_t frames[VARIANTS][FRAME_LEN];
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
  for (int v = 0; v < VARIANTS; v++) {
    uint8_t *f = frames[v];
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
    uint8_t udp[8] = {0x9c, (uint8_t)v, 0x00, 0x09, 0x00, 0x1a, 0x00, 0x00};
    memcpy(f + 34, udp, 8);
  }
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
  unsigned variant = 0;
  int64_t t0 = now_ns();
  int64_t next = t0;
  double per_ns = rate / 1e9;
  while (!stop) {
    int64_t now = now_ns();
    uint64_t owed = (uint64_t)((double)(now - t0) * per_ns) + 1;
    uint64_t debt = owed > sent + dropped_debt ? owed - sent - dropped_debt : 0;
    uint64_t cap = (uint64_t)(rate * (double)max_debt / 1e9) + 1;
    if (debt > cap) {
      dropped_debt += debt - cap;
      debt = cap;
    }
    while (debt > 0 && !stop) {
      int n = debt > MAX_PER_CALL ? MAX_PER_CALL : (int)debt;
      for (int i = 0; i < n; i++) {
        iov[i].iov_base = frames[variant++ & (VARIANTS - 1)];
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
      if (r < n) break;
    }
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
