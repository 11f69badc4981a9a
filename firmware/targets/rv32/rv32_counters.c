/*
 * rv32_counters.c: instruction counts of the firmware on rv32imc, read from the
 * `minstret` CSR (retired instructions; exact under QEMU with -icount shift=0).
 *
 * The rv32 target is the host simulator (src/host: main.c, hal_host.c, sim_input.c)
 * with lib/tinyad and the generated C, built for rv32imc against picolibc with
 * semihosting (stdin/stdout/files through QEMU).  This file adds nothing to what
 * the firmware computes: it is linked with
 *
 *   -Wl,--wrap=main -Wl,--wrap=<counted function>
 *
 * and wraps the function named by RV32_COUNTED (tinyad_model_invoke: one inference;
 * tinyad_app_step: the whole per-reading path) with two reads of minstret.  After
 * the simulator's main returns, one report line goes to the semihosting console:
 *
 *   #rv32-counts fn=<name> calls=<n> total=<sum> min=<m> max=<M>
 *
 * The count of one call is (minstret after) - (minstret before) - RV32_READ_COST,
 * i.e. the instructions of the call, the function and its return, without the
 * second csrr.  Serial lines all start with '{', so the report line never mixes
 * with them; it comes after the last one.
 */
#include <stdint.h>
#include <stdio.h>

#include "tinyad_model.h" /* the model alone: the benchmark counts it without the app */
#if defined(RV32_COUNT_STEP)
#include "tinyad_app.h"
#endif

#if !defined(__riscv) || __riscv_xlen != 32
#error "rv32_counters.c is for the rv32imc target (riscv64-unknown-elf-gcc -march=rv32imc -mabi=ilp32)"
#endif

/* Two back-to-back reads differ by 1: the second csrr itself. */
#define RV32_READ_COST 1u

static inline uint32_t rv32_minstret(void)
{
    uint32_t v;
    /* this binutils wants the Zicsr extension named around csrr */
    __asm__ volatile(".option push\n.option arch, +zicsr\ncsrr %0, minstret\n.option pop" : "=r"(v)::"memory");
    return v;
}

static uint32_t g_calls;
static uint64_t g_total;
static uint32_t g_min = UINT32_MAX;
static uint32_t g_max;

static void rv32_record(uint32_t t0, uint32_t t1)
{
    const uint32_t n = t1 - t0 - RV32_READ_COST;
    g_calls++;
    g_total += n;
    if (n < g_min) {
        g_min = n;
    }
    if (n > g_max) {
        g_max = n;
    }
}

#if defined(RV32_COUNT_STEP)
#define RV32_COUNTED "tinyad_app_step"
void __real_tinyad_app_step(tinyad_app_t *app, const tinyad_raw_t *raw);
void __wrap_tinyad_app_step(tinyad_app_t *app, const tinyad_raw_t *raw);
void __wrap_tinyad_app_step(tinyad_app_t *app, const tinyad_raw_t *raw)
{
    const uint32_t t0 = rv32_minstret();
    __real_tinyad_app_step(app, raw);
    rv32_record(t0, rv32_minstret());
}
#else
#define RV32_COUNTED "tinyad_model_invoke"
void __real_tinyad_model_invoke(const int8_t in[TINYAD_N_INPUTS], int8_t out[TINYAD_N_OUTPUTS]);
void __wrap_tinyad_model_invoke(const int8_t in[TINYAD_N_INPUTS], int8_t out[TINYAD_N_OUTPUTS]);
void __wrap_tinyad_model_invoke(const int8_t in[TINYAD_N_INPUTS], int8_t out[TINYAD_N_OUTPUTS])
{
    const uint32_t t0 = rv32_minstret();
    __real_tinyad_model_invoke(in, out);
    rv32_record(t0, rv32_minstret());
}
#endif

int __real_main(int argc, char **argv);
int __wrap_main(int argc, char **argv);
int __wrap_main(int argc, char **argv)
{
    const int rc = __real_main(argc, argv);
    fflush(stdout);
    printf("#rv32-counts fn=%s calls=%lu total=%llu min=%lu max=%lu\n", RV32_COUNTED, (unsigned long)g_calls,
           (unsigned long long)g_total, (unsigned long)(g_calls ? g_min : 0u), (unsigned long)g_max);
    fflush(stdout);
    return rc;
}
