/* SPDX-License-Identifier: GPL-2.0-only */
/* The domain classifier: libvirt domain XML into struct pp_domain. */
#ifndef PREPOP_DOMXML_H
#define PREPOP_DOMXML_H

#include <stddef.h>

#include "prepop/errors.h"
#include "prepop/facts.h"

#define PP_NOVA_NS_1_1 "http://openstack.org/xmlns/libvirt/nova/1.1"
#define PP_NOVA_NS_1_0 "http://openstack.org/xmlns/libvirt/nova/1.0"

/*
 * Parse a domain's XML.  Returns 0, or -1 with every error appended (each
 * names the element or attribute at fault) and *d left empty.  name labels
 * the input in errors (a file name, or the domain's name).
 */
int pp_domain_parse(const char *xml, size_t len, const char *name,
		    struct pp_domain *d, struct pp_errs *errs);

#endif
