/*
 * mount-attack: what a hostile container root tries against a read-only mount, one technique
 * per run, then tries to write through whatever it got. Built statically at test time and run
 * inside a real container (busybox has no mount_setattr, open_tree or move_mount).
 *
 *   mount-attack TECHNIQUE DIR VICTIM TAG
 *
 * TECHNIQUE: none | remount | umount | umount-lazy | over | bind | setattr | clone
 * DIR:       the mount under attack (a directory)
 * VICTIM:    a path relative to DIR that the attack tries to overwrite and then unlink
 * TAG:       names the file the attack tries to create (DIR/pwned-TAG)
 *
 * Prints one line per step: "technique ok" or "technique failed: ERRNO", then "create …",
 * "overwrite …", "unlink …". Exit status 0: every step failed. 1: at least one step succeeded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

struct attr { uint64_t set, clr, propagation, userns_fd; };
#define ATTR_RDONLY 0x1ULL
#define ATTR_IDMAP 0x100000ULL

static int breached;

static void report(const char *step, int result)
{
    if (result >= 0) {
        printf("%s ok\n", step);
        breached = 1;
    } else {
        printf("%s failed: %s\n", step, strerror(errno));
    }
    fflush(stdout);
}

static int setattr(int dfd, const char *path, unsigned flags, struct attr *a)
{
    return (int)syscall(SYS_mount_setattr, dfd, path, flags, a, sizeof *a);
}

/*
 * A detached copy of DIR made writable — first also idmapped through our own user namespace
 * (so that our root would be the files' owners), then plainly — and attached at /tmp/attack.
 */
static int cloned(const char *dir)
{
    int copy = -1;
    for (int idmap = 1; idmap >= 0; idmap--) {
        int tree = (int)syscall(SYS_open_tree, AT_FDCWD, dir, 1 /* OPEN_TREE_CLONE */ | O_CLOEXEC);
        struct attr a = { .clr = ATTR_RDONLY };
        if (idmap) {
            a.set = ATTR_IDMAP;
            a.userns_fd = (uint64_t)open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
        }
        int result = tree < 0 ? -1 : setattr(tree, "", AT_EMPTY_PATH, &a);
        if (result >= 0 && copy < 0) {
            mkdir("/tmp/attack", 0755);
            result = (int)syscall(SYS_move_mount, tree, "", AT_FDCWD, "/tmp/attack", 0x4 /* MOVE_MOUNT_F_EMPTY_PATH */);
            if (result >= 0)
                copy = open("/tmp/attack", O_PATH | O_DIRECTORY);
        }
        report(idmap ? "clone-idmapped" : "clone", result);
    }
    return copy;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: mount-attack TECHNIQUE DIR VICTIM TAG\n");
        return 2;
    }
    const char *technique = argv[1], *dir = argv[2], *victim = argv[3], *tag = argv[4];
    /* Opened before the attack: a mount over DIR hides it from paths, not from this descriptor. */
    int fd = open(dir, O_PATH | O_DIRECTORY);
    int result = 0;
    char procfd[64];
    snprintf(procfd, sizeof procfd, "/proc/self/fd/%d", fd);

    if (strcmp(technique, "none") == 0) {
        result = 0;
    } else if (strcmp(technique, "remount") == 0) {
        result = mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND, NULL);
    } else if (strcmp(technique, "umount") == 0) {
        result = umount2(dir, 0);
    } else if (strcmp(technique, "umount-lazy") == 0) {
        result = umount2(dir, MNT_DETACH);
    } else if (strcmp(technique, "over") == 0) {
        /* Cover the mount with a tmpfs, then make the covered original writable through the descriptor. */
        if (mount("none", dir, "tmpfs", 0, NULL) < 0)
            printf("mount over failed: %s\n", strerror(errno));
        result = mount(NULL, procfd, NULL, MS_REMOUNT | MS_BIND, NULL);
    } else if (strcmp(technique, "bind") == 0) {
        /* A second bind of the mount elsewhere, remounted writable. */
        mkdir("/tmp/attack", 0755);
        result = mount(dir, "/tmp/attack", NULL, MS_BIND, NULL);
        if (result >= 0) {
            fd = open("/tmp/attack", O_PATH | O_DIRECTORY);
            result = mount(NULL, "/tmp/attack", NULL, MS_REMOUNT | MS_BIND, NULL);
        }
    } else if (strcmp(technique, "setattr") == 0) {
        struct attr a = { .clr = ATTR_RDONLY };
        result = setattr(AT_FDCWD, dir, 0, &a);
    } else if (strcmp(technique, "clone") == 0) {
        int copy = cloned(dir);
        if (copy >= 0)
            fd = copy;
    } else {
        fprintf(stderr, "mount-attack: unknown technique %s\n", technique);
        return 2;
    }
    if (strcmp(technique, "none") != 0 && strcmp(technique, "clone") != 0)
        report(technique, result);

    /* Now write, through the descriptor (for "over") or the path (everything else). */
    int base = strcmp(technique, "over") == 0 || strcmp(technique, "bind") == 0
        || strcmp(technique, "clone") == 0 ? fd : open(dir, O_PATH | O_DIRECTORY);
    char name[256];
    snprintf(name, sizeof name, "pwned-%s", tag);
    int created = openat(base, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
    report("create", created);
    int victimFd = openat(base, victim, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
    report("overwrite", victimFd >= 0 ? (int)write(victimFd, "pwned\n", 6) : -1);
    report("unlink", unlinkat(base, victim, 0));
    return breached;
}
