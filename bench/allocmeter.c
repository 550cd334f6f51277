/* Heap meter preloaded into worker processes (LD_PRELOAD): counts the usable size of every
 * live malloc-family block and keeps the high-water mark. bench/allocmeter.py builds and
 * reads it; cost per allocation is one atomic add. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stddef.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

static long long current_bytes = 0;
static long long peak_bytes = 0;

static void track_alloc(void *p) {
    if (!p) return;
    long long n = (long long)malloc_usable_size(p);
    long long now = __atomic_add_fetch(&current_bytes, n, __ATOMIC_RELAXED);
    long long old = __atomic_load_n(&peak_bytes, __ATOMIC_RELAXED);
    while (now > old &&
           !__atomic_compare_exchange_n(&peak_bytes, &old, now, 1, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED)) {
    }
}

static void track_free(void *p) {
    if (p) __atomic_sub_fetch(&current_bytes, (long long)malloc_usable_size(p), __ATOMIC_RELAXED);
}

void *malloc(size_t n) { void *p = __libc_malloc(n); track_alloc(p); return p; }
void *calloc(size_t a, size_t b) { void *p = __libc_calloc(a, b); track_alloc(p); return p; }
void free(void *p) { track_free(p); __libc_free(p); }
void *realloc(void *p, size_t n) {
    long long before = p ? (long long)malloc_usable_size(p) : 0;
    void *q = __libc_realloc(p, n);
    if (q || n == 0) __atomic_sub_fetch(&current_bytes, before, __ATOMIC_RELAXED);
    track_alloc(q);
    return q;
}
void *memalign(size_t a, size_t n) { void *p = __libc_memalign(a, n); track_alloc(p); return p; }
void *aligned_alloc(size_t a, size_t n) { return memalign(a, n); }
int posix_memalign(void **out, size_t a, size_t n) {
    if (a < sizeof(void *) || (a & (a - 1))) return EINVAL;
    void *p = __libc_memalign(a, n);
    if (!p) return ENOMEM;
    track_alloc(p);
    *out = p;
    return 0;
}

long long bench_alloc_current(void) { return __atomic_load_n(&current_bytes, __ATOMIC_RELAXED); }
long long bench_alloc_peak(void) { return __atomic_load_n(&peak_bytes, __ATOMIC_RELAXED); }
void bench_alloc_reset_peak(void) {
    __atomic_store_n(&peak_bytes, __atomic_load_n(&current_bytes, __ATOMIC_RELAXED),
                     __ATOMIC_RELAXED);
}
