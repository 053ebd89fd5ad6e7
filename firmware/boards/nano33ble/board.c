/*
 * board.c: the Arduino Nano 33 BLE Sense (u-blox NINA-B306 module: nRF52840, Cortex-M4F at
 * 64 MHz, 1 MiB flash, 256 KiB RAM), register level: no Arduino core, no nrfx, no SDK. The
 * register addresses are the nRF52840 Product Specification's; the pins the Arduino core's
 * ARDUINO_NANO33BLE variant's (the same on the Sense Rev1 and Rev2):
 *
 *   microphone (MP34DT05 / MP34DT06J)  power P0.17, PDM CLK P0.26, PDM DIN P0.25
 *   user LED "L" (D13, active high)    P0.13
 *   red LED of the RGB LED (active low) P0.24   (startup.c: lit on a fault)
 *   serial TX (header pin D1/TX)        P1.03   UARTE0, 115200 8N1, transmit only
 *
 * Clocks: the 32 MHz crystal (HFXO) is started first: the PDM clock and the UART baud rate
 * are divided from HFCLK, and the internal RC oscillator is only good to a few percent.
 *
 * Counter: TIMER1 at 16 MHz, 32 bits (wraps every 268 s). board_counter_to_instructions()
 * converts to core clock cycles (x4 at 64 MHz): on silicon these are cycles, an upper bound on
 * instructions, not the instruction counts the QEMU boards report.
 *
 * Microphone: PDM in mono at PDM_CLK = 32 MHz / 25 = 1.280 MHz with the decimation ratio 80,
 * which is exactly 16,000 samples/s (the reset setting, 32 MHz / 31 with ratio 64, gives
 * 16,129). EasyDMA writes blocks of BLOCK_SAMPLES into a ring of BLOCK_COUNT blocks, double
 * buffered: on each STARTED event (the PDM has latched SAMPLE.PTR and is filling that block)
 * the interrupt handler gives it the pointer of the following block; each END event completes a
 * block. board_mic_read() copies completed blocks out and, when the caller has fallen so far
 * behind that the DMA is about to reuse the block it was reading, skips to the newest block and
 * reports how many samples were dropped.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "board.h"

#define REG(address) (*(volatile uint32_t *)(address))

/* ---- registers (nRF52840 Product Specification) ---- */

#define CLOCK_BASE 0x40000000u
#define CLOCK_TASKS_HFCLKSTART REG(CLOCK_BASE + 0x000u)
#define CLOCK_HFCLKSTAT REG(CLOCK_BASE + 0x40Cu)
#define HFCLKSTAT_SRC_XTAL (1u << 0)
#define HFCLKSTAT_STATE_RUNNING (1u << 16)

#define GPIO_P0 0x50000000u
#define GPIO_P1 0x50000300u
#define GPIO_OUTSET(port) REG((port) + 0x508u)
#define GPIO_OUTCLR(port) REG((port) + 0x50Cu)
#define GPIO_PIN_CNF(port, pin) REG((port) + 0x700u + 4u * (pin))
#define PIN_CNF_INPUT 0x0u            /* DIR = input, input buffer connected, no pull */
#define PIN_CNF_OUTPUT 0x3u           /* DIR = output, input buffer disconnected */
#define PIN_CNF_DRIVE_H0H1 (3u << 8)  /* high drive for both levels */

/* PSEL registers: pin number in bits 0..4, port in bit 5, CONNECT (bit 31) = 0 to connect. */
#define PSEL(port, pin) (((uint32_t)(port) << 5) | (uint32_t)(pin))
#define PSEL_DISCONNECTED 0xFFFFFFFFu

#define TIMER1_BASE 0x40009000u
#define TIMER1_TASKS_START REG(TIMER1_BASE + 0x000u)
#define TIMER1_TASKS_STOP REG(TIMER1_BASE + 0x004u)
#define TIMER1_TASKS_CLEAR REG(TIMER1_BASE + 0x00Cu)
#define TIMER1_TASKS_CAPTURE0 REG(TIMER1_BASE + 0x040u)
#define TIMER1_MODE REG(TIMER1_BASE + 0x504u)
#define TIMER1_BITMODE REG(TIMER1_BASE + 0x508u)
#define TIMER1_PRESCALER REG(TIMER1_BASE + 0x510u)
#define TIMER1_CC0 REG(TIMER1_BASE + 0x540u)
#define TIMER_MODE_TIMER 0u
#define TIMER_BITMODE_32 3u

#define UARTE0_BASE 0x40002000u
#define UARTE0_TASKS_STARTTX REG(UARTE0_BASE + 0x008u)
#define UARTE0_TASKS_STOPTX REG(UARTE0_BASE + 0x00Cu)
#define UARTE0_EVENTS_ENDTX REG(UARTE0_BASE + 0x120u)
#define UARTE0_EVENTS_TXSTOPPED REG(UARTE0_BASE + 0x158u)
#define UARTE0_ENABLE REG(UARTE0_BASE + 0x500u)
#define UARTE0_PSEL_RTS REG(UARTE0_BASE + 0x508u)
#define UARTE0_PSEL_TXD REG(UARTE0_BASE + 0x50Cu)
#define UARTE0_PSEL_CTS REG(UARTE0_BASE + 0x510u)
#define UARTE0_PSEL_RXD REG(UARTE0_BASE + 0x514u)
#define UARTE0_BAUDRATE REG(UARTE0_BASE + 0x524u)
#define UARTE0_TXD_PTR REG(UARTE0_BASE + 0x544u)
#define UARTE0_TXD_MAXCNT REG(UARTE0_BASE + 0x548u)
#define UARTE0_CONFIG REG(UARTE0_BASE + 0x56Cu)
#define UARTE_ENABLE_UARTE 8u
#define UARTE_BAUDRATE_115200 0x01D7E000u

#define PDM_BASE 0x4001D000u
#define PDM_TASKS_START REG(PDM_BASE + 0x000u)
#define PDM_EVENTS_STARTED REG(PDM_BASE + 0x100u)
#define PDM_EVENTS_END REG(PDM_BASE + 0x108u)
#define PDM_INTENSET REG(PDM_BASE + 0x304u)
#define PDM_ENABLE REG(PDM_BASE + 0x500u)
#define PDM_PDMCLKCTRL REG(PDM_BASE + 0x504u)
#define PDM_MODE REG(PDM_BASE + 0x508u)
#define PDM_GAINL REG(PDM_BASE + 0x518u)
#define PDM_GAINR REG(PDM_BASE + 0x51Cu)
#define PDM_RATIO REG(PDM_BASE + 0x520u)
#define PDM_PSEL_CLK REG(PDM_BASE + 0x540u)
#define PDM_PSEL_DIN REG(PDM_BASE + 0x544u)
#define PDM_SAMPLE_PTR REG(PDM_BASE + 0x560u)
#define PDM_SAMPLE_MAXCNT REG(PDM_BASE + 0x564u)
#define PDM_INTEN_STARTED (1u << 0)
#define PDM_INTEN_END (1u << 2)
#define PDM_PDMCLKCTRL_1280K 0x0A000000u /* 32 MHz / 25 = 1.280 MHz */
#define PDM_RATIO_80 1u
#define PDM_MODE_MONO_LEFT_FALLING 1u    /* OPERATION = Mono, EDGE = LeftFalling */
#define PDM_IRQ 29u

/* Gain in 0.5 dB steps: 0x00 = -20 dB, 0x28 = 0 dB (reset value), 0x50 = +20 dB. The MFCC
   frontend normalises each frame by its peak, so the gain mostly sets where the 16-bit output
   clips; override with -DNANO33BLE_PDM_GAIN=... */
#ifndef NANO33BLE_PDM_GAIN
#define NANO33BLE_PDM_GAIN 0x28u
#endif

#define NVIC_ISER(n) REG(0xE000E100u + 4u * (n))
#define NVIC_IPR_BYTE(irq) (*(volatile uint8_t *)(0xE000E400u + (irq)))

/* ---- pins ---- */

#define MIC_POWER_PORT GPIO_P0
#define MIC_POWER_PIN 17u
#define MIC_CLK_PIN 26u /* port 0 */
#define MIC_DIN_PIN 25u /* port 0 */
#define LED_PORT GPIO_P0
#define LED_PIN 13u
#define TX_PORT_NUMBER 1u
#define TX_PORT GPIO_P1
#define TX_PIN 3u

/* ---- clocks and counter ---- */

#define SAMPLE_RATE_HZ 16000u
#define TIMER_HZ 16000000u
#define CORE_HZ 64000000u

const char *board_name(void)
{
    return "nano33ble";
}

static void serial_init(void);

void board_init(void)
{
    /* HFXO: the PDM clock and the UART baud rate need the crystal's accuracy. The bootloader
       may have started it already, so wait on the status rather than on the STARTED event. */
    CLOCK_TASKS_HFCLKSTART = 1u;
    while ((CLOCK_HFCLKSTAT & (HFCLKSTAT_SRC_XTAL | HFCLKSTAT_STATE_RUNNING)) !=
           (HFCLKSTAT_SRC_XTAL | HFCLKSTAT_STATE_RUNNING)) {
    }

    TIMER1_TASKS_STOP = 1u;
    TIMER1_MODE = TIMER_MODE_TIMER;
    TIMER1_BITMODE = TIMER_BITMODE_32;
    TIMER1_PRESCALER = 0u; /* 16 MHz / 2^0 */
    TIMER1_TASKS_CLEAR = 1u;
    TIMER1_TASKS_START = 1u;

    GPIO_OUTCLR(LED_PORT) = 1u << LED_PIN;
    GPIO_PIN_CNF(LED_PORT, LED_PIN) = PIN_CNF_OUTPUT;

    serial_init();
}

uint32_t board_counter_now(void)
{
    /* A TIMER's count is read by capturing it into a CC register. */
    TIMER1_TASKS_CAPTURE0 = 1u;
    return TIMER1_CC0;
}

uint32_t board_counter_elapsed(uint32_t start, uint32_t end)
{
    return end - start; /* 32-bit counter: modular arithmetic handles one wrap */
}

uint64_t board_counter_to_instructions(uint32_t ticks)
{
    /* Core clock cycles (an upper bound on instructions): 64 MHz / 16 MHz = 4 per tick. */
    return (uint64_t)ticks * (CORE_HZ / TIMER_HZ);
}

int board_command_line(char *buffer, size_t size, char **argv, int max_args)
{
    /* No host to ask: no arguments. */
    (void)argv;
    (void)max_args;
    if (size > 0u) {
        buffer[0] = '\0';
    }
    return 0;
}

/* ---- LED ---- */

void board_led_set(int on)
{
    if (on) {
        GPIO_OUTSET(LED_PORT) = 1u << LED_PIN;
    } else {
        GPIO_OUTCLR(LED_PORT) = 1u << LED_PIN;
    }
}

/* ---- serial (UARTE0, transmit only) ---- */

/* EasyDMA reads RAM only, so text (often in flash) is copied here first. */
static uint8_t tx_buffer[128];

static void serial_init(void)
{
    /* TX idles high; drive it before the UARTE takes the pin so no start bit glitches out. */
    GPIO_OUTSET(TX_PORT) = 1u << TX_PIN;
    GPIO_PIN_CNF(TX_PORT, TX_PIN) = PIN_CNF_OUTPUT;
    UARTE0_PSEL_TXD = PSEL(TX_PORT_NUMBER, TX_PIN);
    UARTE0_PSEL_RXD = PSEL_DISCONNECTED;
    UARTE0_PSEL_RTS = PSEL_DISCONNECTED;
    UARTE0_PSEL_CTS = PSEL_DISCONNECTED;
    UARTE0_BAUDRATE = UARTE_BAUDRATE_115200;
    UARTE0_CONFIG = 0u; /* 8N1, no flow control */
    UARTE0_ENABLE = UARTE_ENABLE_UARTE;
}

void board_serial_write(const char *text)
{
    while (*text != '\0') {
        uint32_t length = 0u;

        while (text[length] != '\0' && length < sizeof tx_buffer) {
            tx_buffer[length] = (uint8_t)text[length];
            length++;
        }
        UARTE0_EVENTS_ENDTX = 0u;
        UARTE0_TXD_PTR = (uint32_t)(uintptr_t)tx_buffer;
        UARTE0_TXD_MAXCNT = length;
        UARTE0_TASKS_STARTTX = 1u;
        while (UARTE0_EVENTS_ENDTX == 0u) {
        }
        text += length;
    }
    /* Stop the transmitter between lines: a started UARTE keeps HFCLK requested and draws
       current while idle. */
    UARTE0_EVENTS_TXSTOPPED = 0u;
    UARTE0_TASKS_STOPTX = 1u;
    while (UARTE0_EVENTS_TXSTOPPED == 0u) {
    }
}

/* ---- microphone (PDM with EasyDMA) ---- */

#define BLOCK_SAMPLES 256u /* 16 ms */
#define BLOCK_COUNT 64u    /* 1.024 s of audio; a power of two, so block indices survive the wrap */
#define SETTLE_BLOCKS 8u   /* dropped after start: microphone wake-up and decimation filter settling */

static int16_t ring[BLOCK_COUNT][BLOCK_SAMPLES] __attribute__((aligned(4)));
static volatile uint32_t blocks_started; /* STARTED events so far */
static volatile uint32_t blocks_done;    /* END events so far: blocks 0 .. blocks_done - 1 are complete */
static uint32_t read_block;              /* next block board_mic_read takes samples from */
static uint32_t read_offset;             /* samples of read_block already taken */
static int mic_running;

void PDM_IRQHandler(void);

void PDM_IRQHandler(void)
{
    /* END before STARTED: when both are pending, the block that ended precedes the one that
       started. */
    if (PDM_EVENTS_END != 0u) {
        PDM_EVENTS_END = 0u;
        blocks_done = blocks_done + 1u;
    }
    if (PDM_EVENTS_STARTED != 0u) {
        PDM_EVENTS_STARTED = 0u;
        /* The PDM now fills block blocks_started (mod BLOCK_COUNT); latch the next one. */
        blocks_started = blocks_started + 1u;
        PDM_SAMPLE_PTR = (uint32_t)(uintptr_t)ring[blocks_started % BLOCK_COUNT];
    }
    /* Read an event register back so the clears reach the peripheral before the handler
       returns; otherwise the interrupt can fire a second time for the same event. */
    (void)PDM_EVENTS_STARTED;
}

uint32_t board_mic_sample_rate(void)
{
    return SAMPLE_RATE_HZ;
}

int board_mic_start(void)
{
    if (mic_running) {
        return 0;
    }
    /* The microphone is powered from a GPIO; high drive keeps its supply close to VDD. */
    GPIO_OUTSET(MIC_POWER_PORT) = 1u << MIC_POWER_PIN;
    GPIO_PIN_CNF(MIC_POWER_PORT, MIC_POWER_PIN) = PIN_CNF_OUTPUT | PIN_CNF_DRIVE_H0H1;
    /* The PDM peripheral takes over the pins' levels but not their direction. */
    GPIO_OUTCLR(GPIO_P0) = 1u << MIC_CLK_PIN;
    GPIO_PIN_CNF(GPIO_P0, MIC_CLK_PIN) = PIN_CNF_OUTPUT;
    GPIO_PIN_CNF(GPIO_P0, MIC_DIN_PIN) = PIN_CNF_INPUT;

    PDM_PDMCLKCTRL = PDM_PDMCLKCTRL_1280K;
    PDM_RATIO = PDM_RATIO_80;
    PDM_MODE = PDM_MODE_MONO_LEFT_FALLING;
    PDM_GAINL = NANO33BLE_PDM_GAIN;
    PDM_GAINR = NANO33BLE_PDM_GAIN;
    PDM_PSEL_CLK = PSEL(0u, MIC_CLK_PIN);
    PDM_PSEL_DIN = PSEL(0u, MIC_DIN_PIN);

    blocks_started = 0u;
    blocks_done = 0u;
    PDM_SAMPLE_PTR = (uint32_t)(uintptr_t)ring[0];
    PDM_SAMPLE_MAXCNT = BLOCK_SAMPLES; /* in 16-bit samples */
    PDM_EVENTS_STARTED = 0u;
    PDM_EVENTS_END = 0u;
    PDM_INTENSET = PDM_INTEN_STARTED | PDM_INTEN_END;
    NVIC_IPR_BYTE(PDM_IRQ) = 1u << 5; /* the nRF52840 implements the top 3 priority bits */
    NVIC_ISER(PDM_IRQ / 32u) = 1u << (PDM_IRQ % 32u);
    PDM_ENABLE = 1u;
    PDM_TASKS_START = 1u;

    while (blocks_done < SETTLE_BLOCKS) {
        __asm__ volatile("wfi");
    }
    read_block = blocks_done;
    read_offset = 0u;
    mic_running = 1;
    return 0;
}

int32_t board_mic_read(int16_t *samples, uint32_t count)
{
    uint32_t lost = 0u;

    if (!mic_running) {
        return -1;
    }
    while (count > 0u) {
        uint32_t done = blocks_done;
        uint32_t n;

        if (done == read_block) {
            /* Nothing complete yet: sleep until the next PDM interrupt. If it fires between the
               check and the WFI, the WFI waits one block longer (16 ms), no more. */
            __asm__ volatile("wfi");
            continue;
        }
        /* The PDM writes block `done` and has block `done + 1` latched: a block is safe to read
           while done - block <= BLOCK_COUNT - 2. */
        if (done - read_block > BLOCK_COUNT - 2u) {
            uint32_t newest = done - 1u;
            lost += (newest - read_block) * BLOCK_SAMPLES - read_offset;
            read_block = newest;
            read_offset = 0u;
            continue;
        }
        n = BLOCK_SAMPLES - read_offset;
        if (n > count) {
            n = count;
        }
        __asm__ volatile("" ::: "memory"); /* read the ring only after blocks_done */
        memcpy(samples, &ring[read_block % BLOCK_COUNT][read_offset], n * sizeof samples[0]);
        __asm__ volatile("" ::: "memory");
        if (blocks_done - read_block > BLOCK_COUNT - 2u) {
            continue; /* overwritten while copying: the check above drops it */
        }
        samples += n;
        count -= n;
        read_offset += n;
        if (read_offset == BLOCK_SAMPLES) {
            read_offset = 0u;
            read_block++;
        }
    }
    return (int32_t)lost;
}
