// SPDX-License-Identifier: GPL-2.0
/*
 * QEMU TCG plugin for scripts/profile: how many guest instructions each
 * translation block executed between the first two executions of the
 * block at mark=ADDR (a function the workload calls at both ends of its
 * timed window). Writes "vaddr n_insns count" lines to out=FILE at exit.
 *
 * Uses only the stable plugin API (version 2 and later), declared here so
 * that no QEMU headers are needed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };
typedef void (*tb_trans_cb_t)(qemu_plugin_id_t, struct qemu_plugin_tb *);
typedef void (*vcpu_udata_cb_t)(unsigned int, void *);
typedef void (*udata_cb_t)(qemu_plugin_id_t, void *);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t, tb_trans_cb_t);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *,
					  vcpu_udata_cb_t,
					  enum qemu_plugin_cb_flags, void *);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t, udata_cb_t, void *);

__attribute__((visibility("default"))) int qemu_plugin_version = 2;

/* one per translation (a block translated twice is counted twice) */
struct tb {
	uint64_t vaddr, n_insns, count;
	struct tb *next;
};

static struct tb *tbs;
static uint64_t mark;
static int window;	/* 0 before the mark, 1 inside, 2 after */
static const char *out_path;

static void on_exec(unsigned int vcpu, void *udata)
{
	struct tb *t = udata;

	(void)vcpu;
	if (t->vaddr == mark && window < 2)
		window++;
	if (window == 1)
		t->count++;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	struct tb *t = calloc(1, sizeof(*t));

	(void)id;
	if (!t)
		abort();
	t->vaddr = qemu_plugin_tb_vaddr(tb);
	t->n_insns = qemu_plugin_tb_n_insns(tb);
	t->next = tbs;
	tbs = t;
	qemu_plugin_register_vcpu_tb_exec_cb(tb, on_exec,
					     QEMU_PLUGIN_CB_NO_REGS, t);
}

static void on_qemu_exit(qemu_plugin_id_t id, void *p)
{
	FILE *f = fopen(out_path, "w");
	struct tb *t;

	(void)id;
	(void)p;
	if (!f) {
		perror(out_path);
		return;
	}
	fprintf(f, "# window %d\n", window);
	for (t = tbs; t; t = t->next)
		if (t->count)
			fprintf(f, "%llx %llu %llu\n",
				(unsigned long long)t->vaddr,
				(unsigned long long)t->n_insns,
				(unsigned long long)t->count);
	fclose(f);
}

__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const void *info, int argc,
			char **argv)
{
	(void)info;
	for (int i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "mark=", 5))
			mark = strtoull(argv[i] + 5, NULL, 0);
		else if (!strncmp(argv[i], "out=", 4))
			out_path = argv[i] + 4;
	}
	if (!mark || !out_path) {
		fprintf(stderr, "qemu-tbprof: needs mark=ADDR,out=FILE\n");
		return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	qemu_plugin_register_atexit_cb(id, on_qemu_exit, NULL);
	return 0;
}
