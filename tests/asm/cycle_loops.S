/*
 * cycle_loops.S: small loops whose Cortex-M4 cycles are counted by hand, for
 * tests/test_firmware_cycles.py (the counts, instruction by instruction, are there).
 * A bare image for QEMU's mps2-an386: the vector table, a reset handler that calls each loop
 * once, then semihosting SYS_EXIT. Each loop is a function of its own, so that the estimate
 * can be read per function.
 */
    .syntax unified
    .cpu cortex-m4
    .thumb

    .text                       /* linked at address 0: the vector table first */
    .word 0x20010000            /* initial stack pointer */
    .word _start                /* reset handler (bit 0 set: a Thumb function) */

    .global _start
    .thumb_func
    .type _start, %function
_start:
    bl alu_loop
    bl load_loop
    bl dependent_loads
    bl address_stall
    bl stack_frame
    bl multiply_loop
    bl branches
    movs r0, #0x18              /* SYS_EXIT */
    ldr r1, =0x20026            /* ADP_Stopped_ApplicationExit */
    bkpt 0xab
    .pool
    .size _start, . - _start

    .thumb_func
    .type alu_loop, %function
alu_loop:
    movs r0, #10
1:  adds r1, r1, #3
    eors r2, r2, r1
    subs r0, r0, #1
    bne 1b
    bx lr
    .size alu_loop, . - alu_loop

    .thumb_func
    .type load_loop, %function
load_loop:
    ldr r0, =0x20000100         /* not an immediate: a literal-pool load */
    movs r3, #10
    movs r4, #0
1:  ldr r1, [r0], #4
    ldr r2, [r0], #4
    smlad r4, r1, r2, r4
    subs r3, r3, #1
    bne 1b
    bx lr
    .pool
    .size load_loop, . - load_loop

    .thumb_func
    .type dependent_loads, %function
dependent_loads:
    mov.w r0, #0x20000000
    str r0, [r0]
    movs r3, #10
    movs r4, #8
1:  ldr r1, [r0]
    ldr r2, [r1]
    str r2, [r0, r4]
    str r2, [r0, r4]
    subs r3, #1
    bne 1b
    bx lr
    .size dependent_loads, . - dependent_loads

    .thumb_func
    .type address_stall, %function
address_stall:
    mov.w r0, #0x20000000
    movs r3, #10
    movs r4, #0
1:  adds r1, r0, r4
    ldr r2, [r1]
    str r2, [r0, r4]
    subs r3, #1
    bne 1b
    bx lr
    .size address_stall, . - address_stall

    .thumb_func
    .type stack_frame, %function
stack_frame:
    push {r4, r5, r6, lr}
    ldrd r4, r5, [sp]
    strd r4, r5, [sp]
    ldmia sp, {r0, r1, r2, r3}
    stmia sp, {r0, r1, r2, r3}
    bl leaf
    pop {r4, r5, r6, pc}
    .size stack_frame, . - stack_frame

    .thumb_func
    .type leaf, %function
leaf:
    bx lr
    .size leaf, . - leaf

    .thumb_func
    .type multiply_loop, %function
multiply_loop:
    movs r0, #10
    movs r1, #7
    movs r2, #3
1:  mla r3, r1, r2, r3
    smull r4, r5, r1, r2
    smlal r4, r5, r1, r2
    sdiv r6, r1, r2
    subs r0, #1
    bne 1b
    bx lr
    .size multiply_loop, . - multiply_loop

    .thumb_func
    .type branches, %function
branches:
    movs r0, #4
1:  cmp r0, #2
    ite eq
    moveq r1, #1
    movne r1, #2
    subs r0, #1
    cbz r0, 2f
    b 1b
2:  bx lr
    .size branches, . - branches
