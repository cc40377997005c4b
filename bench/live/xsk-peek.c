// Reads the AF_XDP sockets of a running process from outside: for each XSK
// among its fds, the kernel's XDP_STATISTICS and every ring's producer and
// consumer index and flags (the rings mapped read-only through a copy of the
// fd, pidfd_getfd, Linux 5.6+). What a live run looks like from the kernel's
// side without touching the dataplane: a ring whose indexes stop moving,
// frames that never come back (fill ring empty while user space holds
// them), or a TX ring waiting for a kick (flags 1: needs wakeup).
//
// usage (root): cc -O2 -o xsk-peek bench/live/xsk-peek.c && ./xsk-peek PID
// e.g. once a second during a bench run:
//   while sleep 1; do ./xsk-peek $(pgrep -f afxdp-bench/router.yaml); done
#define _GNU_SOURCE
#include <dirent.h>
#include <linux/if_xdp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SOL_XDP
#define SOL_XDP 283
#endif

static void ring(int fd, const char *name, off_t pgoff, const struct xdp_ring_offset *o) {
  size_t len = o->desc; /* the indexes and flags lie before the descriptors */
  void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, pgoff);
  if (m == MAP_FAILED) {
    printf("  %-4s (not mapped)\n", name);
    return;
  }
  unsigned prod = *(volatile unsigned *)((char *)m + o->producer);
  unsigned cons = *(volatile unsigned *)((char *)m + o->consumer);
  unsigned flags = *(volatile unsigned *)((char *)m + o->flags);
  printf("  %-4s producer %10u consumer %10u in ring %6u flags %u\n", name, prod, cons, prod - cons, flags);
  munmap(m, len);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s PID\n", argv[0]);
    return 2;
  }
  int pid = atoi(argv[1]);
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) {
    perror("pidfd_open");
    return 1;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd", pid);
  DIR *d = opendir(path);
  if (d == NULL) {
    perror(path);
    return 1;
  }
  struct dirent *e;
  int found = 0;
  while ((e = readdir(d)) != NULL) {
    int target = atoi(e->d_name);
    if (target <= 2) continue;
    int fd = (int)syscall(SYS_pidfd_getfd, pidfd, target, 0);
    if (fd < 0) continue;
    struct xdp_statistics st;
    socklen_t l = sizeof st;
    if (getsockopt(fd, SOL_XDP, XDP_STATISTICS, &st, &l) == 0) {
      found++;
      printf("fd %d: rx_dropped %llu rx_ring_full %llu rx_fill_ring_empty_descs %llu tx_ring_empty_descs %llu rx_invalid %llu tx_invalid %llu\n", target,
             (unsigned long long)st.rx_dropped, (unsigned long long)st.rx_ring_full, (unsigned long long)st.rx_fill_ring_empty_descs,
             (unsigned long long)st.tx_ring_empty_descs, (unsigned long long)st.rx_invalid_descs, (unsigned long long)st.tx_invalid_descs);
      struct xdp_mmap_offsets off;
      l = sizeof off;
      if (getsockopt(fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &l) == 0) {
        ring(fd, "rx", XDP_PGOFF_RX_RING, &off.rx);
        ring(fd, "tx", XDP_PGOFF_TX_RING, &off.tx);
        ring(fd, "fill", XDP_UMEM_PGOFF_FILL_RING, &off.fr);
        ring(fd, "comp", XDP_UMEM_PGOFF_COMPLETION_RING, &off.cr);
      }
    }
    close(fd);
  }
  closedir(d);
  if (found == 0) printf("no AF_XDP sockets in process %d\n", pid);
  return 0;
}
