// sanitizer_options.c: the sanitizer runtimes' defaults for a BRIGADE_SANITIZE build (e.g.
// -DBRIGADE_SANITIZE=address,undefined), compiled into every executable that links brigade_lib.
// They are in the binary rather than in ASAN_OPTIONS/LSAN_OPTIONS/UBSAN_OPTIONS because a rank
// that mpirun starts on another host (over ssh) or that srun starts gets none of the launching
// shell's environment; these hold in every rank. The environment variables still add to them.
//
// - UBSan: any undefined behaviour stops the process (halt_on_error) with a stack.
// - LeakSanitizer: Open MPI 4.1 does not free what MPI_Init allocates (about 120 KB in 3,300
//   blocks per rank, in libmpi, libopen-rte, libopen-pal and the libevent they use, partly from
//   components it has dlclose()d). Leaks whose allocation stack passes through those libraries
//   are suppressed, so that a leak of brigade's own in a rank run under mpirun is still reported.
//   Those libraries are built without frame pointers, so the fast unwinder stops inside them and
//   the stack would not name them: malloc stacks are unwound the slow way (fast_unwind_on_malloc=0,
//   which makes the MPI tests about a third slower). One more: GCC 12's ASan runtime itself, on
//   glibc 2.36, leaks the CPU set that pthread_getattr_np allocates when it sets up a thread
//   (its stack is the runtime's own, GetThreadStackTopAndBottom).
// Nothing else in brigade calls these; the runtimes find them by name.

const char *__asan_default_options(void);
const char *__lsan_default_options(void);
const char *__lsan_default_suppressions(void);
const char *__ubsan_default_options(void);

const char *__asan_default_options(void) { return "fast_unwind_on_malloc=0"; }

const char *__lsan_default_options(void) { return "print_suppressions=0"; }

const char *__lsan_default_suppressions(void) {
    return "leak:libmpi.so\n"
           "leak:libopen-rte.so\n"
           "leak:libopen-pal.so\n"
           "leak:libevent\n"
           "leak:libpmix\n"
           "leak:libhwloc\n"
           "leak:GetThreadStackTopAndBottom\n";
}

const char *__ubsan_default_options(void) { return "halt_on_error=1:print_stacktrace=1"; }
