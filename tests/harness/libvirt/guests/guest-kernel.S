/* Smallest x86 "Linux kernel" for the harness's qboot guests: a boot
 * protocol 2.06 setup header, so qemu's -kernel loader and qboot accept it
 * (qboot boots a -kernel image in ~0.2 s; SeaBIOS needs 4-6 s to reach a
 * boot sector on the test machines).  The real-mode entry prints one line on
 * COM1, then
 *  - panic.kernel (guests/panic.xml): writes 1 to the ISA pvpanic port 0x505
 *    and halts;
 *  - idle.kernel (IDLE defined; guests/migrate.xml, whose initrd of random
 *    bytes qboot loads into guest RAM for a live migration to copy): halts
 *    for ever.
 * start.sh builds both (binutils):
 *   as --32 guest-kernel.S -o panic-kernel.o
 *   as --32 --defsym IDLE=1 guest-kernel.S -o idle-kernel.o
 *   ld -m elf_i386 -Ttext 0 --oformat binary -o NAME.kernel NAME-kernel.o */
        .code16
        .section .text
        .globl _start
_start:
        .org 0x1f1
setup_sects:    .byte 1
root_flags:     .word 0
syssize:        .long 1
ram_size:       .word 0
vid_mode:       .word 0xffff
root_dev:       .word 0
boot_flag:      .word 0xaa55
        /* 0x200: real-mode entry (cs = setup segment + 0x20) */
        jmp     entry
        .ascii  "HdrS"
        .word   0x0206          /* protocol version */
        .long   0               /* realmode_swtch */
        .word   0               /* start_sys_seg */
        .word   0               /* kernel_version */
        .byte   0               /* type_of_loader */
        .byte   0               /* loadflags: load low */
        .word   0               /* setup_move_size */
        .long   0x1000          /* code32_start */
        .long   0               /* ramdisk_image */
        .long   0               /* ramdisk_size */
        .long   0               /* bootsect_kludge */
        .word   0               /* heap_end_ptr */
        .byte   0, 0            /* ext_loader_ver, ext_loader_type */
        .long   0               /* cmd_line_ptr */
        .long   0x7fffffff      /* initrd_addr_max */
entry:  cli
        movw    %cs, %ax
        movw    %ax, %ds
        movw    $(msg - 0x200), %si
        movw    $0x3f8, %dx
1:      lodsb
        testb   %al, %al
        jz      2f
        outb    %al, %dx
        jmp     1b
2:
.ifndef IDLE
        movw    $0x505, %dx
        movb    $1, %al
        outb    %al, %dx
.endif
3:      hlt
        jmp     3b
.ifdef IDLE
msg:    .asciz  "idle guest: entry reached, halting\r\n"
.else
msg:    .asciz  "panic guest: entry reached, writing pvpanic\r\n"
.endif
        .org    0x400
        /* "protected-mode kernel": one sector, never run */
        .fill   512, 1, 0
