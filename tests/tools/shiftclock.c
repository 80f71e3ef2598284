/* Moves this process's wall clock (CLOCK_REALTIME and what reads it) by SHIFTCLOCK_SECONDS; monotonic
 * clocks and every sleep or timed wait are left alone, as they are on a machine whose date was set.
 *
 * Why not libfaketime: it fakes the monotonic clock too, and CPython's timed waits then compute their
 * deadline on the faked clock and wait on the real one (a queue.get(timeout=...) waits for the offset,
 * years); with FAKETIME_DONT_FAKE_MONOTONIC=1 its clock_nanosleep wrapper makes time.sleep fail with
 * EINVAL. Used by `make test-dates`: LD_PRELOAD=shiftclock.so SHIFTCLOCK_SECONDS=... pytest.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static int (*real_clock_gettime)(clockid_t, struct timespec *);
static long long shift;

__attribute__((constructor)) static void init(void) {
    const char *seconds = getenv("SHIFTCLOCK_SECONDS");
    shift = seconds ? atoll(seconds) : 0;
    real_clock_gettime = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
}

int clock_gettime(clockid_t clock, struct timespec *ts) {
    if (!real_clock_gettime) init();
    int result = real_clock_gettime(clock, ts);
    if (result == 0 && ts && (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE)) ts->tv_sec += shift;
    return result;
}

int gettimeofday(struct timeval *tv, void *tz) {
    struct timespec ts;
    (void)tz;
    int result = clock_gettime(CLOCK_REALTIME, &ts);
    if (result == 0 && tv) {
        tv->tv_sec = ts.tv_sec;
        tv->tv_usec = ts.tv_nsec / 1000;
    }
    return result;
}

time_t time(time_t *out) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (out) *out = ts.tv_sec;
    return ts.tv_sec;
}
