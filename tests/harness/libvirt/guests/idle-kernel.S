/* Smallest x86 "Linux kernel" for the migrate guest (guests/migrate.xml): the
 * boot protocol 2.06 setup header of panic-kernel.S, whose real-mode entry
 * prints one line on COM1 and halts for ever.  qboot loads it, and the
 * guest's initrd (random bytes) into guest RAM first: that RAM is what a live
 * migration has to copy (zero pages would cost nothing).  start.sh builds it:
 *   as --32 idle-kernel.S -o idle-kernel.o
 *   ld -m elf_i386 -Ttext 0 --oformat binary -o idle.kernel idle-kernel.o */
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
        jz      3f
        outb    %al, %dx
        jmp     1b
3:      hlt
        jmp     3b
msg:    .asciz  "idle guest: entry reached, halting\r\n"
        .org    0x400
        /* "protected-mode kernel": one sector, never run */
        .fill   512, 1, 0
