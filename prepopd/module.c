// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "linux/kvm_prepop.h"
#include "log.h"
#include "module.h"

void module_init(struct module *m)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
}

void module_close(struct module *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	m->usable = false;
}

/* What VERSION says, into m; false (m->why set) if prepopd cannot populate with it. */
static bool check_version(struct module *m)
{
	struct kvm_prepop_version v;

	memset(&v, 0, sizeof(v));
	v.size = sizeof(v);
	if (ioctl(m->fd, KVM_PREPOP_VERSION, &v) < 0) {
		snprintf(m->why, sizeof(m->why),
			 "KVM_PREPOP_VERSION failed: %s (a module older than API %d?)",
			 strerror(errno), KVM_PREPOP_API_VERSION);
		return false;
	}
	m->api_version = v.api_version;
	m->features = v.features;
	m->max_workers = v.max_workers;
	m->hold_ceiling_ns = v.hold_ceiling_ns;
	m->engine = v.engine;
	if (!(v.features & KVM_PREPOP_FEAT_POPULATE)) {
		snprintf(m->why, sizeof(m->why), "API %u without POPULATE", v.api_version);
		return false;
	}
	if (!(v.features & KVM_PREPOP_FEAT_HOLD)) {
		snprintf(m->why, sizeof(m->why),
			 "API %u cannot take vCPUs itself (no KVM_PREPOP_FEAT_HOLD), "
			 "and prepopd never pauses guests: load a module with API %d or later",
			 v.api_version, KVM_PREPOP_API_VERSION);
		return false;
	}
	if (!v.hold_ceiling_ns) {
		snprintf(m->why, sizeof(m->why), "API %u reports no vCPU hold ceiling", v.api_version);
		return false;
	}
	return true;
}

void module_probe(struct module *m, const char *device)
{
	char was[sizeof(m->why)];
	bool was_present = m->present;

	if (m->usable)
		return;
	snprintf(was, sizeof(was), "%s", m->why);
	m->why[0] = '\0';
	m->fd = open(device, O_RDWR | O_CLOEXEC);
	m->present = m->fd >= 0;
	if (!m->present)
		snprintf(m->why, sizeof(m->why), "%s: %s", device, strerror(errno));
	else if (check_version(m))
		m->usable = true;
	if (m->usable) {
		log_msg(LOG_INFO, "%s: API %u, engine %s, up to %u workers a call, vCPUs held at most %.1f ms a call",
			device, m->api_version, module_engine_str(m->engine), m->max_workers,
			m->hold_ceiling_ns / 1e6);
		return;
	}
	module_close(m);
	if (m->present != was_present || strcmp(was, m->why))
		log_msg(m->present ? LOG_WARNING : LOG_INFO, "observe-only: %s", m->why);
}

bool module_maps_unrun(const struct module *m)
{
	return m->usable && m->engine == KVM_PREPOP_ENGINE_PREFAULT;
}

const char *module_engine_str(uint32_t engine)
{
	return engine == KVM_PREPOP_ENGINE_FAULT ? "fault" :
	       engine == KVM_PREPOP_ENGINE_PREFAULT ? "prefault" : "unknown";
}

/*
 * A slice asks for at most half the module's ceiling: a batch in progress
 * may end past the slice's deadline, and no hold may pass the ceiling.
 */
uint64_t module_slice_ns(const struct module *m, unsigned slice_ms)
{
	uint64_t ns = (uint64_t)slice_ms * 1000000, half = m->hold_ceiling_ns / 2;

	return half && half < ns ? half : ns;
}
