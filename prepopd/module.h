/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kvm_prepop as prepopd uses it: /dev/kvm_prepop, its VERSION, and whether
 * it may populate.  prepopd never pauses a guest, so it populates only with
 * a module that takes the vCPUs it uses itself (KVM_PREPOP_FEAT_HOLD).
 */
#ifndef PREPOP_MODULE_H
#define PREPOP_MODULE_H

#include <stdbool.h>
#include <stdint.h>

struct module {
	int fd;			/* open only while usable, else -1 */
	bool present;		/* the device node opened */
	bool usable;		/* POPULATE with FEAT_HOLD: prepopd populates */
	uint32_t api_version;
	uint64_t features;
	uint32_t max_workers;
	uint64_t hold_ceiling_ns;	/* no call holds a vCPU longer; 0: not reported */
	uint32_t engine;	/* KVM_PREPOP_ENGINE_*: how the module maps */
	char why[200];		/* why not usable, for the log and status */
};

void module_init(struct module *m);
/*
 * Look again (start, reload).  A usable module is kept as it is (its fd
 * pins it); anything else is closed, so an operator can replace an old
 * module and reload.  Logs when what it finds changes.
 */
void module_probe(struct module *m, const char *device);
void module_close(struct module *m);
const char *module_engine_str(uint32_t engine);
/*
 * It maps a VM none of whose vCPUs has run yet (a guest that arrived
 * paused): the pre-fault engine, whose KVM_PRE_FAULT_MEMORY loads the MMU
 * root itself.  The fault engine needs a root a vCPU's first run loaded.
 */
bool module_maps_unrun(const struct module *m);
/* The slice budget for a call: the policy's, capped at the hold ceiling. */
uint64_t module_slice_ns(const struct module *m, unsigned slice_ms);

#endif
