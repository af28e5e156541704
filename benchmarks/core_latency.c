// Cache-line round trip between two threads pinned to CPUs 0 and 1: an atomic store and a PAUSE spin each way.
// On the 2-vCPU dev VM it moves between about 170 and 390 ns from one period to the next, and dlinfer's 2-thread
// timings (and less so onnxruntime's) move with it: run it on the idle machine before and after a 2-thread
// benchmark, and record both.
//   cc -O2 -pthread benchmarks/core_latency.c -o /tmp/core_latency && /tmp/core_latency
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { ROUNDS = 200000 };
static _Atomic long *ping, *pong;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void pin(int cpu) {
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}

static void pause_once(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *answer(void *unused) {
    (void)unused;
    pin(1);
    for (long i = 1; i <= ROUNDS; i++) {
        while (atomic_load_explicit(ping, memory_order_acquire) != i) pause_once();
        atomic_store_explicit(pong, i, memory_order_release);
    }
    return NULL;
}

int main(void) {
    // Each word on its own 128-byte pair of lines, so only the intended line moves.
    ping = aligned_alloc(128, 128);
    pong = aligned_alloc(128, 128);
    if (!ping || !pong) return 1;
    atomic_init(ping, 0);
    atomic_init(pong, 0);
    pin(0);
    pthread_t t;
    if (pthread_create(&t, NULL, answer, NULL) != 0) return 1;
    const double t0 = now();
    for (long i = 1; i <= ROUNDS; i++) {
        atomic_store_explicit(ping, i, memory_order_release);
        while (atomic_load_explicit(pong, memory_order_acquire) != i) pause_once();
    }
    const double dt = now() - t0;
    pthread_join(t, NULL);
    printf("round trip between CPU 0 and CPU 1: %.0f ns\n", dt / ROUNDS * 1e9);
    return 0;
}
