// The DPDK peer of the LPM benchmark, timed the way our side is timed on a
// shared machine: rte_lpm and rte_fib DIR-24-8 built from the same routes
// file, then the same addresses looked up in bursts of 64, in short rounds
// that alternate between the two subjects, each round timed by the thread's
// CPU clock (CLOCK_THREAD_CPUTIME_ID) and by rdtsc. dpdk-test-fib times one
// rdtsc pass, so every preemption by another process lands in its figure;
// the fastest and the median round here do not carry that noise, and they are
// the same statistics as ours (bench/route/lookup-worker.ts).
//
//   cc -O3 -march=native -o dpdk-lpm-rounds dpdk-lpm-rounds.c $(pkg-config --cflags --libs libdpdk)
//   ./dpdk-lpm-rounds --no-huge --no-pci --lcores "0@(0,1)" -m 2048 --file-prefix=X -- ROUTES IPS ROUNDS [thp|4k]
//   ./dpdk-lpm-rounds ... -- ROUTES IPS serve [thp|4k]
//
// Pages: EAL's --no-huge memory is a memfd (shmem, 4 KiB pages: shmem THP is
// "never" here), while our tables sit on 2 MiB pages (src/flow/huge-pages.ts),
// and under KVM a TLB miss is a two-dimensional walk. So by default ("thp")
// rte_lpm, rte_fib and the C dir16 tables are allocated from an external
// malloc heap over anonymous memory advised MADV_HUGEPAGE, as a DPDK
// deployment has them on hugepages; "4k" keeps them on 4 KiB pages (EAL's
// default heap, calloc) to measure what the pages are worth.
//
// ROUTES: "A.B.C.D/LEN NH" per line (NH >= 1; 0 is "no route"); IPS: one
// address per line. Prints one JSON line. With "serve" instead of a round
// count, it builds the tables, prints {"ready":...} and then, for each line
// "R" or "R CPU" read from stdin, runs R rounds (on CPU alone, when given)
// and prints one JSON line of per-round ns per lookup and the CPU the round
// ended on ({"rounds":[[lpm, fib, dir16, cpu], ...]}), until EOF. The lpm
// bench drives it so that the peer's rounds and ours alternate in time: on a
// shared 2-vCPU machine the same loop measured 88 and 175 M/s in two runs
// minutes apart, so only rounds taken side by side compare.
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_errno.h>
#include <rte_cycles.h>
#include <rte_lpm.h>
#include <rte_fib.h>

#define BURST 64

// DIR-24-8 with 16-bit entries (the layout tried for issue 13): a 2^24-entry
// root whose entry is nextHop + 1 (bit 15 clear; 0 is no route) or
// 0x8000 | group, a 256-entry 16-bit tbl8 group. Built statically from the
// routes, shortest first (controlled prefix expansion).
static uint16_t *d16_root, *d16_tbl8;
static uint32_t d16_groups;

// 2 MiB pages (transparent, advised) or 4 KiB pages for the tables: see the header.
static int use_thp = 1;
#define HUGE_SZ ((size_t)2 << 20)

// Zeroed memory of n bytes, 2 MiB-aligned and advised MADV_HUGEPAGE with use_thp (else calloc).
static void *table_alloc(size_t n) {
  if (!use_thp) return calloc(n, 1);
  size_t len = (n + HUGE_SZ - 1) & ~(HUGE_SZ - 1);
  char *p = mmap(NULL, len + HUGE_SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  p = (char *)(((uintptr_t)p + HUGE_SZ - 1) & ~(HUGE_SZ - 1));
  madvise(p, len, MADV_HUGEPAGE);
  return p;
}

// The socket id of an external malloc heap over THP-advised anonymous memory, for rte_lpm and rte_fib.
static int thp_heap(size_t bytes) {
  void *va = table_alloc(bytes);
  if (va == NULL) return -1;
  if (rte_malloc_heap_create("lpm_rounds_thp") != 0) return -1;
  if (rte_malloc_heap_memory_add("lpm_rounds_thp", va, bytes, NULL, 0, HUGE_SZ) != 0) return -1;
  return rte_malloc_heap_get_socket("lpm_rounds_thp");
}

// AnonHugePages of this process in KiB (smaps_rollup): what the tables got.
static long anon_huge_kib(void) {
  FILE *f = fopen("/proc/self/smaps_rollup", "r");
  char l[256];
  long kib = -1;
  while (f != NULL && fgets(l, sizeof l, f) != NULL)
    if (strncmp(l, "AnonHugePages:", 14) == 0) kib = atol(l + 14);
  if (f != NULL) fclose(f);
  return kib;
}

static int d16_build(const uint32_t *ip, const uint8_t *len, const uint32_t *nh, size_t n) {
  size_t *order = malloc(n * sizeof(size_t)), k = 0;
  for (int l = 0; l <= 32; l++)
    for (size_t i = 0; i < n; i++)
      if (len[i] == l) order[k++] = i;
  d16_root = table_alloc((size_t)2 << 24);
  d16_tbl8 = table_alloc((size_t)32768 * 256 * 2);
  for (size_t j = 0; j < n; j++) {
    size_t i = order[j];
    uint16_t w = (uint16_t)nh[i];
    if (nh[i] >= 0x8000) return -1;
    if (len[i] <= 24) {
      uint32_t first = ip[i] >> 8, count = 1u << (24 - len[i]);
      for (uint32_t r = first; r < first + count; r++) d16_root[r] = w;
    } else {
      uint16_t e = d16_root[ip[i] >> 8];
      if (!(e & 0x8000)) {
        if (d16_groups == 32768) return -1;
        for (int q = 0; q < 256; q++) d16_tbl8[d16_groups * 256 + q] = e;
        e = d16_root[ip[i] >> 8] = 0x8000 | d16_groups++;
      }
      uint32_t first = ((uint32_t)(e & 0x7fff) << 8) | (ip[i] & 255), count = 1u << (32 - len[i]);
      for (uint32_t r = first; r < first + count; r++) d16_tbl8[r] = w;
    }
  }
  free(order);
  return 0;
}

static inline void d16_lookup(const uint32_t *ips, uint32_t *out, int n) {
  const uint16_t *root = d16_root, *tbl8 = d16_tbl8;
  for (int j = 0; j < n; j++) {
    uint32_t a = ips[j];
    uint32_t e = root[a >> 8];
    if (e & 0x8000) e = tbl8[((e & 0x7fff) << 8) | (a & 255)];
    out[j] = e;
  }
}

static double thread_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int parse_ip(const char *s, uint32_t *out) {
  unsigned a, b, c, d;
  if (sscanf(s, "%u.%u.%u.%u", &a, &b, &c, &d) != 4 || a > 255 || b > 255 || c > 255 || d > 255) return -1;
  *out = (a << 24) | (b << 16) | (c << 8) | d;
  return 0;
}

static void fail(const char *what) {
  fprintf(stderr, "dpdk-lpm-rounds: %s\n", what);
  exit(2);
}

int main(int argc, char **argv) {
  int eal = rte_eal_init(argc, argv);
  if (eal < 0) fail("rte_eal_init failed");
  argc -= eal;
  argv += eal;
  if (argc < 4) fail("usage: [EAL args] -- ROUTES IPS ROUNDS|serve [thp|4k]");
  int serve = strcmp(argv[3], "serve") == 0;
  int rounds = serve ? 1 : atoi(argv[3]);
  if (rounds < 1) fail("ROUNDS must be >= 1");
  if (argc > 4) {
    if (strcmp(argv[4], "4k") == 0) use_thp = 0;
    else if (strcmp(argv[4], "thp") != 0) fail("pages must be thp or 4k");
  }

  FILE *f = fopen(argv[1], "r");
  if (f == NULL) fail("cannot open the routes file");
  size_t cap = 1 << 20, nr = 0;
  uint32_t *rip = malloc(cap * 4), *rnh = malloc(cap * 4);
  uint8_t *rlen = malloc(cap);
  char line[128];
  while (fgets(line, sizeof line, f) != NULL) {
    char *slash = strchr(line, '/');
    if (slash == NULL) continue;
    *slash = 0;
    unsigned len, nh;
    if (parse_ip(line, &rip[nr]) != 0 || sscanf(slash + 1, "%u %u", &len, &nh) != 2 || len > 32) fail("bad route line");
    rlen[nr] = len;
    rnh[nr] = nh;
    if (++nr == cap) {
      cap *= 2;
      rip = realloc(rip, cap * 4);
      rnh = realloc(rnh, cap * 4);
      rlen = realloc(rlen, cap);
    }
  }
  fclose(f);

  f = fopen(argv[2], "r");
  if (f == NULL) fail("cannot open the addresses file");
  size_t icap = 1 << 20, ni = 0;
  uint32_t *ips = malloc(icap * 4);
  while (fgets(line, sizeof line, f) != NULL) {
    if (parse_ip(line, &ips[ni]) != 0) continue;
    if (++ni == icap) ips = realloc(ips, (icap *= 2) * 4);
  }
  fclose(f);
  ni -= ni % BURST;

  // tbl8 groups: one per /24 that holds a longer prefix, with room to spare (as dpdk-test-fib sizes them).
  uint8_t *blocks = calloc(1 << 24, 1);
  uint32_t tbl8 = 0;
  for (size_t i = 0; i < nr; i++)
    if (rlen[i] > 24 && !blocks[rip[i] >> 8]) blocks[rip[i] >> 8] = 1, tbl8++;
  free(blocks);
  tbl8 = tbl8 * 2 + 1024;

  // rte_lpm: 64 MiB tbl24 + 1 KiB per tbl8 + rules; rte_fib: the same plus its RIB. 1 GiB of address space, touched as used.
  int socket = SOCKET_ID_ANY;
  if (use_thp && (socket = thp_heap((size_t)1 << 30)) < 0) fail("external THP heap: rte_malloc_heap_memory_add failed");
  struct rte_lpm_config lc = {.max_rules = (uint32_t)nr, .number_tbl8s = tbl8, .flags = 0};
  struct rte_lpm *lpm = rte_lpm_create("rounds_lpm", socket, &lc);
  if (lpm == NULL) fail("rte_lpm_create failed");
  struct rte_fib_conf fc;
  memset(&fc, 0, sizeof fc);
  fc.type = RTE_FIB_DIR24_8;
  fc.default_nh = 0;
  fc.max_routes = (int)nr;
  fc.dir24_8.nh_sz = RTE_FIB_DIR24_8_4B;
  fc.dir24_8.num_tbl8 = tbl8;
  struct rte_fib *fib = rte_fib_create("rounds_fib", socket, &fc);
  if (fib == NULL) fail("rte_fib_create failed");
  double t0 = thread_ns();
  for (size_t i = 0; i < nr; i++)
    if (rte_fib_add(fib, rip[i], rlen[i], rnh[i]) != 0) fail("rte_fib_add failed");
  double fibAddNs = (thread_ns() - t0) / nr;
  t0 = thread_ns();
  for (size_t i = 0; i < nr; i++)
    if (rte_lpm_add(lpm, rip[i], rlen[i], rnh[i]) != 0) fail("rte_lpm_add failed");
  double lpmAddNs = (thread_ns() - t0) / nr;

  t0 = thread_ns();
  if (d16_build(rip, rlen, rnh, nr) != 0) fail("dir16: next hop or tbl8 group count over 15 bits");
  double d16AddNs = (thread_ns() - t0) / nr;
  uint32_t *lo = malloc(ni * 4);
  uint32_t *dout = malloc(ni * 4);
  uint64_t *fo = malloc(ni * 8);
  size_t disagree = 0;
  for (size_t j = 0; j < ni; j += BURST) {
    rte_lpm_lookup_bulk(lpm, &ips[j], &lo[j], BURST);
    rte_fib_lookup_bulk(fib, &ips[j], &fo[j], BURST);
    d16_lookup(&ips[j], &dout[j], BURST);
  }
  size_t d16disagree = 0;
  for (size_t j = 0; j < ni; j++) {
    uint64_t l = (lo[j] & RTE_LPM_LOOKUP_SUCCESS) ? (lo[j] & 0xffffff) : 0;
    if (l != fo[j]) disagree++;
    if (l != dout[j]) d16disagree++;
  }

  if (serve) {
    printf("{\"ready\":true,\"tscHz\":%llu,\"routes\":%zu,\"lookups\":%zu,\"disagree\":%zu,\"d16disagree\":%zu,\"groups\":%u,\"lpmAddNs\":%.1f,\"fibAddNs\":%.1f,\"pages\":\"%s\",\"anonHugeKiB\":%ld}\n",
           (unsigned long long)rte_get_tsc_hz(), nr, ni, disagree, d16disagree, d16_groups, lpmAddNs, fibAddNs, use_thp ? "thp" : "4k", anon_huge_kib());
    fflush(stdout);
    volatile uint64_t sink = 0;
    while (fgets(line, sizeof line, stdin) != NULL) {
      // "R" or "R CPU": R rounds, after pinning this thread to CPU when given
      // (the lpm bench runs both sides on each vCPU in turn).
      int r = 0, cpu = -1;
      if (sscanf(line, "%d %d", &r, &cpu) < 1 || r < 1 || r > 10000) fail("serve: a line must be a round count, optionally followed by a CPU");
      if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        if (cpu >= CPU_SETSIZE) fail("serve: CPU out of range");
        CPU_SET(cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) != 0) fail("serve: sched_setaffinity to the requested CPU failed");
      }
      printf("{\"rounds\":[");
      for (int k = 0; k < r; k++) {
        double n0 = thread_ns();
        for (size_t j = 0; j < ni; j += BURST) {
          rte_lpm_lookup_bulk(lpm, &ips[j], &lo[j], BURST);
          sink += lo[j + BURST - 1];
        }
        double l = (thread_ns() - n0) / ni;
        n0 = thread_ns();
        for (size_t j = 0; j < ni; j += BURST) {
          rte_fib_lookup_bulk(fib, &ips[j], &fo[j], BURST);
          sink += fo[j + BURST - 1];
        }
        double fi = (thread_ns() - n0) / ni;
        n0 = thread_ns();
        for (size_t j = 0; j < ni; j += BURST) {
          d16_lookup(&ips[j], &dout[j], BURST);
          sink += dout[j + BURST - 1];
        }
        double d = (thread_ns() - n0) / ni;
        printf("%s[%.4f,%.4f,%.4f,%d]", k ? "," : "", l, fi, d, sched_getcpu());
      }
      printf("]}\n");
      fflush(stdout);
    }
    rte_fib_free(fib);
    rte_lpm_free(lpm);
    rte_eal_cleanup();
    return 0;
  }

  double *lns = malloc(rounds * sizeof(double)), *fns = malloc(rounds * sizeof(double));
  double *lcy = malloc(rounds * sizeof(double)), *fcy = malloc(rounds * sizeof(double));
  double *dns = malloc(rounds * sizeof(double));
  volatile uint64_t sink = 0;
  for (int r = 0; r < rounds; r++) {
    uint64_t c0 = rte_rdtsc();
    double n0 = thread_ns();
    for (size_t j = 0; j < ni; j += BURST) {
      rte_lpm_lookup_bulk(lpm, &ips[j], &lo[j], BURST);
      sink += lo[j + BURST - 1];
    }
    lns[r] = (thread_ns() - n0) / ni;
    lcy[r] = (double)(rte_rdtsc() - c0) / ni;
    c0 = rte_rdtsc();
    n0 = thread_ns();
    for (size_t j = 0; j < ni; j += BURST) {
      rte_fib_lookup_bulk(fib, &ips[j], &fo[j], BURST);
      sink += fo[j + BURST - 1];
    }
    fns[r] = (thread_ns() - n0) / ni;
    fcy[r] = (double)(rte_rdtsc() - c0) / ni;
    n0 = thread_ns();
    for (size_t j = 0; j < ni; j += BURST) {
      d16_lookup(&ips[j], &dout[j], BURST);
      sink += dout[j + BURST - 1];
    }
    dns[r] = (thread_ns() - n0) / ni;
  }
  qsort(dns, rounds, sizeof(double), cmp_double);
  qsort(lns, rounds, sizeof(double), cmp_double);
  qsort(fns, rounds, sizeof(double), cmp_double);
  qsort(lcy, rounds, sizeof(double), cmp_double);
  qsort(fcy, rounds, sizeof(double), cmp_double);
  printf("{\"tscHz\":%llu,\"routes\":%zu,\"lookups\":%zu,\"rounds\":%d,\"disagree\":%zu,"
         "\"lpm\":{\"minNs\":%.4f,\"medianNs\":%.4f,\"minCycles\":%.3f,\"addNs\":%.1f},"
         "\"fib\":{\"minNs\":%.4f,\"medianNs\":%.4f,\"minCycles\":%.3f,\"addNs\":%.1f},"
         "\"dir16\":{\"minNs\":%.4f,\"medianNs\":%.4f,\"groups\":%u,\"disagree\":%zu,\"addNs\":%.1f}}\n",
         (unsigned long long)rte_get_tsc_hz(), nr, ni, rounds, disagree, lns[0], lns[rounds / 2], lcy[0], lpmAddNs, fns[0],
         fns[rounds / 2], fcy[0], fibAddNs, dns[0], dns[rounds / 2], d16_groups, d16disagree, d16AddNs);
  rte_fib_free(fib);
  rte_lpm_free(lpm);
  rte_eal_cleanup();
  return 0;
}
