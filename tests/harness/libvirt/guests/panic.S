/* 512-byte boot sector for guests/panic-seabios.xml: print a line on COM1, then write 1 to the pvpanic port 0x505.
 * Rebuild guests/panic.img (binutils):
 *   as --32 panic.S -o panic.o && ld -m elf_i386 -Ttext 0x7c00 --oformat binary -o panic.img panic.o */
        .code16
        .globl _start
_start: cli
        xorw %ax, %ax
        movw %ax, %ds
        movw $msg, %si
        movw $0x3f8, %dx
1:      lodsb
        testb %al, %al
        jz 2f
        outb %al, %dx
        jmp 1b
2:      movw $0x505, %dx
        movb $1, %al
        outb %al, %dx
3:      hlt
        jmp 3b
msg:    .asciz "probe guest: boot sector reached, writing pvpanic\r\n"
        .org 510
        .byte 0x55, 0xaa
