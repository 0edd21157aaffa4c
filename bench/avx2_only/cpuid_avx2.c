/* Make this process see an AVX2-only x86 CPU: the CPUID instruction answers without
 * AVX-512, AVX-512 BF16/VNNI/FP16, AVX-VNNI, AMX and GFNI, so every library (numpy,
 * torch, oneDNN, OpenVINO, ONNX Runtime's MLAS, glibc's later checks) picks the kernels it
 * would pick on an AMD EPYC of the Zen 2/Zen 3 generations.
 *
 * How: Linux's CPUID faulting (arch_prctl ARCH_SET_CPUID; the CPU must list `cpuid_fault`)
 * makes every CPUID instruction of this process trap; the SIGSEGV handler below runs the
 * real CPUID, clears those bits and resumes after the instruction. Threads and forked
 * children inherit the trap; exec'd children get it again through LD_PRELOAD.
 *
 *   gcc -O2 -shared -fPIC -o cpuid_avx2.so cpuid_avx2.c
 *   LD_PRELOAD=$PWD/cpuid_avx2.so GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX512F,-AVX512DQ \
 *       python -c "import numpy; print(numpy.show_runtime())"
 *
 * Not emulated: /proc/cpuinfo still lists the real flags (read the flags through CPUID,
 * e.g. numpy's __cpu_features__); glibc picked its string functions before this library
 * loaded (GLIBC_TUNABLES above takes care of that); clock speed, caches and memory are the
 * real machine's. Code that runs an AVX-512 instruction without asking CPUID first still
 * runs here (a real AVX2-only CPU would raise SIGILL): check such paths under
 * `qemu-x86_64 -cpu EPYC-Rome` instead, which has no AVX-512 at all.
 */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <cpuid.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#define BIT(n) (1u << (n))

static struct sigaction previous;

static long cpuid_faulting(int on) {
    /* ARCH_SET_CPUID's argument: 1 = CPUID works, 0 = CPUID traps. */
    return syscall(SYS_arch_prctl, ARCH_SET_CPUID, on ? 0 : 1);
}

static void avx2_only(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
    if (leaf == 7 && sub == 0) {
        /* EBX: AVX512F 16, DQ 17, IFMA 21, PF 26, ER 27, CD 28, BW 30, VL 31 */
        r[1] &= ~(BIT(16) | BIT(17) | BIT(21) | BIT(26) | BIT(27) | BIT(28) | BIT(30) | BIT(31));
        /* ECX: VBMI 1, VBMI2 6, GFNI 8, VNNI 11, BITALG 12, VPOPCNTDQ 14 */
        r[2] &= ~(BIT(1) | BIT(6) | BIT(8) | BIT(11) | BIT(12) | BIT(14));
        /* EDX: 4VNNIW 2, 4FMAPS 3, VP2INTERSECT 8, AMX-BF16 22, AVX512-FP16 23,
         * AMX-TILE 24, AMX-INT8 25 */
        r[3] &= ~(BIT(2) | BIT(3) | BIT(8) | BIT(22) | BIT(23) | BIT(24) | BIT(25));
    } else if (leaf == 7 && sub == 1) {
        /* EAX: AVX-VNNI 4, AVX512-BF16 5, AMX-FP16 21, AVX-IFMA 23; EDX: AVX10 19 */
        r[0] &= ~(BIT(4) | BIT(5) | BIT(21) | BIT(23));
        r[3] &= ~BIT(19);
    } else if (leaf == 0xd && sub == 0) {
        /* XSAVE state components: opmask 5, ZMM_Hi256 6, Hi16_ZMM 7, AMX 17-18 */
        r[0] &= ~(BIT(5) | BIT(6) | BIT(7) | BIT(17) | BIT(18));
    }
}

static void on_segv(int sig, siginfo_t *info, void *context) {
    ucontext_t *uc = context;
    greg_t *g = uc->uc_mcontext.gregs;
    const uint8_t *ip = (const uint8_t *)g[REG_RIP];
    if (ip[0] == 0x0f && ip[1] == 0xa2) { /* CPUID */
        uint32_t r[4], leaf = (uint32_t)g[REG_RAX], sub = (uint32_t)g[REG_RCX];
        cpuid_faulting(0);
        __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
        cpuid_faulting(1);
        avx2_only(leaf, sub, r);
        g[REG_RAX] = r[0];
        g[REG_RBX] = r[1];
        g[REG_RCX] = r[2];
        g[REG_RDX] = r[3];
        g[REG_RIP] += 2;
        return;
    }
    /* A real fault: hand it to whoever had SIGSEGV before, or die as usual. */
    if (previous.sa_flags & SA_SIGINFO && previous.sa_sigaction) {
        previous.sa_sigaction(sig, info, context);
    } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
        previous.sa_handler(sig);
    } else {
        signal(SIGSEGV, SIG_DFL);
    }
}

__attribute__((constructor(101))) static void install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &previous) != 0 || cpuid_faulting(1) != 0) {
        fprintf(stderr, "cpuid_avx2: CPUID faulting is not available here; nothing masked\n");
        if (getenv("CPUID_AVX2_REQUIRED")) _exit(3);
    }
}
