// sources: cr_fs.c cr_image.c parse.c util.c err.c
/* cr_fs_apply: a saved upper layer made to show through a tree that already has its lower layer
 * (here a plain directory stands in for the mounted overlay): new, changed and deleted files,
 * opaque directories, and entries that try to lead out of the tree. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "cr_fs.h"
#include "util.h"

static struct cr_image img;
static const struct cr_fsentry *entries[32];

static void add(uint32_t type, const char *path, const char *data, bool opaque)
{
	uint32_t size = data ? (uint32_t)strlen(data) : 0;
	struct cr_fsentry *e = calloc(1, sizeof(*e) + size);
	*e = (struct cr_fsentry){ .root = CR_FS_UPPER, .type = type, .mode = type == CR_FS_DIR ? 0751 : 0640,
				  .uid = getuid(), .gid = getgid(), .mtime = 1700000000, .opaque = opaque, .size = size };
	snprintf(e->path, sizeof(e->path), "%s", path);
	if (size)
		memcpy((char *)e + sizeof(*e), data, size);
	entries[img.nfsentries++] = e;
	img.fsentries = entries;
}

static void reset(void)
{
	for (uint32_t i = 0; i < img.nfsentries; i++)
		free((void *)entries[i]);
	memset(&img, 0, sizeof(img));
}

static void put(const char *root, const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		write_all(fd, text, strlen(text));
		close(fd);
	}
}

static bool has(const char *root, const char *rel, const char *text)
{
	char path[512], buf[256] = "";
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	ssize_t n = read_file(path, buf, sizeof(buf));
	return text ? n == (ssize_t)strlen(text) && !memcmp(buf, text, (size_t)n) : access(path, F_OK) == 0;
}

static bool gone(const char *root, const char *rel)
{
	char path[512];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return lstat(path, &st) < 0 && errno == ENOENT;
}

int main(void)
{
	char base[] = "/tmp/cr_fs_test.XXXXXX";
	if (!mkdtemp(base))
		return 1;
	char root[300], outside[300], path[512];
	snprintf(root, sizeof(root), "%s/merged", base);
	snprintf(outside, sizeof(outside), "%s/outside", base);
	mkdir(root, 0755);
	mkdir(outside, 0755);
	/* The "lower layer" the container's image shows. */
	const char *dirs[] = { "etc", "etc/old", "var", "var/cache", "bin" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", root, dirs[i]);
		mkdir(path, 0755);
	}
	put(root, "etc/issue", "lower issue\n");
	put(root, "etc/old/a", "a\n");
	put(root, "var/cache/x", "x\n");
	put(root, "var/cache/y", "y\n");
	put(root, "bin/sh", "lower shell\n");
	snprintf(path, sizeof(path), "%s/escape", root);
	symlink(outside, path);

	add(CR_FS_DIR, "etc", NULL, false);
	add(CR_FS_REG, "etc/motd", "welcome\n", false);
	add(CR_FS_SYMLINK, "etc/localtime", "/usr/share/zoneinfo/UTC", false);
	add(CR_FS_WHITEOUT, "etc/issue", NULL, false);
	add(CR_FS_WHITEOUT, "etc/old", NULL, false);
	add(CR_FS_DIR, "var", NULL, false);
	add(CR_FS_DIR, "var/cache", NULL, true);
	add(CR_FS_REG, "var/cache/z", "z\n", false);
	add(CR_FS_REG, "bin/sh", "upper shell\n", false);
	add(CR_FS_DIR, "new", NULL, false);
	add(CR_FS_REG, "new/f", "fresh\n", false);
	add(CR_FS_DIR, "escape", NULL, false);   /* a directory where the lower has a symlink */
	add(CR_FS_REG, "escape/inside", "stays in\n", false);
	struct ct_err err = { "", "" };
	check(cr_fs_apply(&img, CR_FS_UPPER, root, &err) == 0, "applies an upper layer (%s)", err.msg);
	check(has(root, "etc/motd", "welcome\n"), "a new file has its contents");
	char link[256] = "";
	snprintf(path, sizeof(path), "%s/etc/localtime", root);
	check(readlink(path, link, sizeof(link) - 1) > 0 && !strcmp(link, "/usr/share/zoneinfo/UTC"), "a symlink points where it did");
	check(gone(root, "etc/issue"), "a whiteout removes the lower file");
	check(gone(root, "etc/old"), "a whiteout removes a whole lower directory");
	check(gone(root, "var/cache/x") && gone(root, "var/cache/y") && has(root, "var/cache/z", "z\n"),
	      "an opaque directory shows only what the upper layer has");
	check(has(root, "bin/sh", "upper shell\n"), "a changed file replaces the lower one");
	check(has(root, "new/f", "fresh\n"), "a new directory and its file");
	struct stat st;
	snprintf(path, sizeof(path), "%s/new/f", root);
	check(stat(path, &st) == 0 && (st.st_mode & 07777) == 0640 && st.st_mtime == 1700000000, "mode and mtime restored");
	snprintf(path, sizeof(path), "%s/new", root);
	check(stat(path, &st) == 0 && (st.st_mode & 07777) == 0751 && st.st_mtime == 1700000000,
	      "a directory's mode and mtime, set after its contents");
	check(has(root, "escape/inside", "stays in\n") && gone(outside, "inside"),
	      "a lower symlink replaced by a directory is not followed");
	reset();

	/* Entries that would lead out of the tree. */
	snprintf(path, sizeof(path), "%s/out", root);
	symlink(outside, path);
	add(CR_FS_REG, "out/evil", "x\n", false);
	err.msg[0] = 0;
	check(cr_fs_apply(&img, CR_FS_UPPER, root, &err) < 0 && gone(outside, "evil"),
	      "refuses a path through a symlink (%s)", err.msg);
	reset();
	add(CR_FS_WHITEOUT, "etc/..", NULL, false);
	check(cr_fs_apply(&img, CR_FS_UPPER, root, &err) < 0 && has(root, "etc/motd", NULL), "refuses \"..\" as a name");
	reset();
	add(CR_FS_REG, "etc/../../evil2", "x\n", false);
	snprintf(path, sizeof(path), "%s/evil2", base);
	check(cr_fs_apply(&img, CR_FS_UPPER, root, &err) < 0 && access(path, F_OK) < 0, "refuses a path climbing out");
	reset();

	/* cr_fs_restore: the same kinds of entries into a fresh directory (an upper layer). */
	char fresh[320];
	snprintf(fresh, sizeof(fresh), "%s/upper", base);
	add(CR_FS_DIR, "etc", NULL, false);
	add(CR_FS_REG, "etc/motd", "welcome\n", false);
	add(CR_FS_SYMLINK, "etc/localtime", "/usr/share/zoneinfo/UTC", false);
	add(CR_FS_WHITEOUT, "etc/issue", NULL, false);
	err.msg[0] = 0;
	int rc = cr_fs_restore(&img, CR_FS_UPPER, fresh, 0, &err);
	/* A whiteout is a 0/0 character device: only root may make one (CI runs as root). */
	if (getuid() == 0) {
		check(rc == 0 && has(fresh, "etc/motd", "welcome\n"), "restores an upper layer (%s)", err.msg);
		snprintf(path, sizeof(path), "%s/etc/issue", fresh);
		check(lstat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == 0, "a whiteout as overlayfs writes one");
		snprintf(path, sizeof(path), "%s/etc", fresh);
		check(stat(path, &st) == 0 && (st.st_mode & 07777) == 0751 && st.st_mtime == 1700000000,
		      "a directory's mode and mtime, set after its contents");
	}
	reset();
	snprintf(fresh, sizeof(fresh), "%s/upper2", base);
	add(CR_FS_SYMLINK, "l", outside, false);
	add(CR_FS_REG, "l/evil", "x\n", false);
	check(cr_fs_restore(&img, CR_FS_UPPER, fresh, 0, &err) < 0 && gone(outside, "evil"),
	      "a restore refuses an entry beneath a symlink it made (%s)", err.msg);
	reset();

	remove_tree(base, NULL);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
