// SPDX-License-Identifier: GPL-2.0-only
/*
 * Read through XPath so that namespaces are matched by URI, never by
 * prefix: Nova has written both nova/1.0 and nova/1.1, under any prefix.
 */
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domxml.h"
#include "prepop/units.h"
#include "prepop/xalloc.h"

/* libvirt's ceiling for memory sizes: VIR_DOMAIN_MEMORY_PARAM_UNLIMITED KiB. */
#define LIBVIRT_MEMORY_MAX_KIB 9007199254740991ull
#define MAX_VCPUS 16384

struct cx {
	xmlXPathContextPtr xp;
	const char *file;
	struct pp_errs *errs;
	size_t nerr;
};

static void err(struct cx *c, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void err(struct cx *c, const char *path, const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	pp_errs_add(c->errs, c->file, path, "%s", buf);
	c->nerr++;
}

/* String value of the first node matched at ctx (NULL node: document). */
static char *xstr(struct cx *c, xmlNodePtr at, const char *expr)
{
	xmlXPathObjectPtr o;
	char *s = NULL;

	c->xp->node = at ? at : xmlDocGetRootElement(c->xp->doc);
	o = xmlXPathEvalExpression(BAD_CAST expr, c->xp);
	if (o && o->type == XPATH_NODESET && o->nodesetval &&
	    o->nodesetval->nodeNr > 0) {
		xmlChar *v = xmlNodeGetContent(o->nodesetval->nodeTab[0]);

		if (v) {
			s = xstrdup((const char *)v);
			xmlFree(v);
		}
	}
	xmlXPathFreeObject(o);
	return s;
}

static xmlNodeSetPtr xnodes(struct cx *c, xmlNodePtr at, const char *expr,
			    xmlXPathObjectPtr *keep)
{
	c->xp->node = at ? at : xmlDocGetRootElement(c->xp->doc);
	*keep = xmlXPathEvalExpression(BAD_CAST expr, c->xp);
	if (!*keep || (*keep)->type != XPATH_NODESET || !(*keep)->nodesetval)
		return NULL;
	return (*keep)->nodesetval;
}

static bool xexists(struct cx *c, xmlNodePtr at, const char *expr)
{
	xmlXPathObjectPtr o;
	xmlNodeSetPtr ns = xnodes(c, at, expr, &o);
	bool r = ns && ns->nodeNr > 0;

	xmlXPathFreeObject(o);
	return r;
}

/*
 * A scaled size (default KiB): an element's text with its unit attribute,
 * or, for an attribute "@x", the x attribute with the element's @unit.
 */
static bool xsize(struct cx *c, xmlNodePtr at, const char *expr,
		  const char *path, bool required, uint64_t *out)
{
	char uexpr[128], *val, *unit;
	const char *why;
	bool ok = false;

	val = xstr(c, at, expr);
	if (!val) {
		if (required)
			err(c, path, "missing");
		return false;
	}
	if (expr[0] == '@')
		snprintf(uexpr, sizeof(uexpr), "@unit");
	else
		snprintf(uexpr, sizeof(uexpr), "%s/@unit", expr);
	unit = xstr(c, at, uexpr);
	if (pp_scale(val, unit, 1024, out, &why) < 0)
		err(c, path, "%s in \"%s%s%s\"", why, val, unit ? " " : "",
		    unit ? unit : "");
	else if (*out / 1024 > LIBVIRT_MEMORY_MAX_KIB)
		err(c, path, "%s%s%s exceeds libvirt's maximum of %llu KiB", val,
		    unit ? " " : "", unit ? unit : "", LIBVIRT_MEMORY_MAX_KIB);
	else
		ok = true;
	free(val);
	free(unit);
	return ok;
}

static bool xuint(struct cx *c, xmlNodePtr at, const char *expr,
		  const char *path, unsigned max, unsigned *out)
{
	char *s = xstr(c, at, expr);
	uint64_t v;
	const char *why;
	bool ok = false;

	if (!s)
		return false;
	if (pp_scale(s, "b", 1, &v, &why) < 0)
		err(c, path, "%s in \"%s\"", why, s);
	else if (v > max)
		err(c, path, "%llu is above the maximum of %u",
		    (unsigned long long)v, max);
	else {
		*out = (unsigned)v;
		ok = true;
	}
	free(s);
	return ok;
}

/* on/off attribute; absent → false. */
static bool xonoff(struct cx *c, xmlNodePtr at, const char *expr,
		   const char *path)
{
	char *s = xstr(c, at, expr);
	bool on = false;

	if (s && !strcmp(s, "on"))
		on = true;
	else if (s && strcmp(s, "off"))
		err(c, path, "expected 'on' or 'off', got '%s'", s);
	free(s);
	return on;
}

static void parse_vcpus(struct cx *c, struct pp_domain *d)
{
	d->vcpus_max = 1;	/* libvirt's default without <vcpu> */
	if (xexists(c, NULL, "/domain/vcpu") &&
	    !xuint(c, NULL, "/domain/vcpu", "/domain/vcpu", MAX_VCPUS,
		   &d->vcpus_max))
		return;
	d->vcpus = d->vcpus_max;
	if (xexists(c, NULL, "/domain/vcpu/@current") &&
	    !xuint(c, NULL, "/domain/vcpu/@current", "/domain/vcpu/@current",
		   MAX_VCPUS, &d->vcpus))
		return;
	if (d->vcpus_max == 0)
		err(c, "/domain/vcpu", "zero vCPUs");
	else if (d->vcpus == 0)
		err(c, "/domain/vcpu/@current", "zero vCPUs");
	else if (d->vcpus > d->vcpus_max)
		err(c, "/domain/vcpu/@current", "current %u is above the maximum %u",
		    d->vcpus, d->vcpus_max);
}

static void parse_memory(struct cx *c, struct pp_domain *d)
{
	xmlXPathObjectPtr o;
	xmlNodeSetPtr cells;

	if (xexists(c, NULL, "/domain/memory")) {
		xsize(c, NULL, "/domain/memory", "/domain/memory", true,
		      &d->memory_bytes);
	} else {
		/* libvirt sums the NUMA cells when <memory> is left out */
		cells = xnodes(c, NULL, "/domain/cpu/numa/cell", &o);
		for (int i = 0; cells && i < cells->nodeNr; i++) {
			char path[64];
			uint64_t b;

			snprintf(path, sizeof(path), "/domain/cpu/numa/cell[%d]/@memory", i + 1);
			if (xsize(c, cells->nodeTab[i], "@memory", path, true, &b))
				d->memory_bytes += b;
		}
		if (!cells || !cells->nodeNr)
			err(c, "/domain/memory", "missing (and no NUMA cells to sum)");
		xmlXPathFreeObject(o);
	}
	if (!xsize(c, NULL, "/domain/currentMemory", "/domain/currentMemory",
		   false, &d->current_memory_bytes))
		d->current_memory_bytes = d->memory_bytes;
	d->has_max_memory = xsize(c, NULL, "/domain/maxMemory",
				  "/domain/maxMemory", false,
				  &d->max_memory_bytes);
	if (!c->nerr && d->memory_bytes == 0)
		err(c, "/domain/memory", "zero memory");
}

static void parse_backing(struct cx *c, struct pp_domain *d)
{
	xmlXPathObjectPtr o;
	xmlNodeSetPtr pages;

	d->hugepages = xexists(c, NULL, "/domain/memoryBacking/hugepages");
	pages = xnodes(c, NULL, "/domain/memoryBacking/hugepages/page", &o);
	if (pages && pages->nodeNr) {
		d->page_bytes = xcalloc(pages->nodeNr, sizeof(*d->page_bytes));
		for (int i = 0; i < pages->nodeNr; i++) {
			char path[80];

			snprintf(path, sizeof(path),
				 "/domain/memoryBacking/hugepages/page[%d]/@size", i + 1);
			if (xsize(c, pages->nodeTab[i], "@size", path, true,
				  &d->page_bytes[d->n_pages])) {
				if (d->page_bytes[d->n_pages] == 0)
					err(c, path, "zero page size");
				d->n_pages++;
			}
		}
	}
	xmlXPathFreeObject(o);
	d->locked = xexists(c, NULL, "/domain/memoryBacking/locked");
	d->nosharepages = xexists(c, NULL, "/domain/memoryBacking/nosharepages");
	d->mem_source = xstr(c, NULL, "/domain/memoryBacking/source/@type");
	d->mem_access = xstr(c, NULL, "/domain/memoryBacking/access/@mode");
	d->mem_allocation = xstr(c, NULL, "/domain/memoryBacking/allocation/@mode");
}

static void parse_smm(struct cx *c, struct pp_domain *d)
{
	char *s = xstr(c, NULL, "/domain/features/smm/@state");

	d->smm_state = PP_SMM_DEFAULT;
	if (s && !strcmp(s, "on"))
		d->smm_state = PP_SMM_ON;
	else if (s && !strcmp(s, "off"))
		d->smm_state = PP_SMM_OFF;
	else if (s)
		err(c, "/domain/features/smm/@state", "expected 'on' or 'off', got '%s'", s);
	else if (xexists(c, NULL, "/domain/features/smm"))
		d->smm_state = PP_SMM_ON;	/* <smm/> means on */
	free(s);
	d->secure_boot =
		xexists(c, NULL, "/domain/os/loader[@secure='yes']") ||
		xexists(c, NULL, "/domain/os/firmware/feature[@name='secure-boot' and @enabled='yes']");
}

static void parse_balloon(struct cx *c, struct pp_domain *d)
{
	char *model = xstr(c, NULL, "/domain/devices/memballoon/@model");

	if (!model || !strcmp(model, "none")) {
		free(model);
		return;
	}
	d->balloon = true;
	d->balloon_model = model;
	d->balloon_autodeflate = xonoff(c, NULL, "/domain/devices/memballoon/@autodeflate",
					"/domain/devices/memballoon/@autodeflate");
	d->balloon_free_page_reporting =
		xonoff(c, NULL, "/domain/devices/memballoon/@freePageReporting",
		       "/domain/devices/memballoon/@freePageReporting");
}

static void parse_memdevs(struct cx *c, struct pp_domain *d)
{
	xmlXPathObjectPtr o;
	xmlNodeSetPtr devs = xnodes(c, NULL, "/domain/devices/memory", &o);

	if (!devs || !devs->nodeNr) {
		xmlXPathFreeObject(o);
		return;
	}
	d->memdevs = xcalloc(devs->nodeNr, sizeof(*d->memdevs));
	for (int i = 0; i < devs->nodeNr; i++) {
		struct pp_memdev *m = &d->memdevs[d->n_memdevs];
		xmlNodePtr n = devs->nodeTab[i];
		char base[48], path[96];
		unsigned node;

		snprintf(base, sizeof(base), "/domain/devices/memory[%d]", i + 1);
		m->model = xstr(c, n, "@model");
		if (!m->model) {
			snprintf(path, sizeof(path), "%s/@model", base);
			err(c, path, "missing");
			continue;
		}
		d->n_memdevs++;
		m->node = -1;
		snprintf(path, sizeof(path), "%s/target/size", base);
		xsize(c, n, "target/size", path, true, &m->size_bytes);
		snprintf(path, sizeof(path), "%s/target/requested", base);
		m->has_requested = xsize(c, n, "target/requested", path, false,
					 &m->requested_bytes);
		snprintf(path, sizeof(path), "%s/target/current", base);
		m->has_current = xsize(c, n, "target/current", path, false, &m->current_bytes);
		m->source_path = xstr(c, n, "source/path");
		snprintf(path, sizeof(path), "%s/target/node", base);
		if (xuint(c, n, "target/node", path, 4096, &node))
			m->node = (int)node;
	}
	xmlXPathFreeObject(o);
}

static void parse_nova(struct cx *c, struct pp_domain *d)
{
	static const char *const flavor =
		"/domain/metadata/nova:instance/nova:flavor | "
		"/domain/metadata/nova10:instance/nova10:flavor";
	xmlXPathObjectPtr o, so;
	xmlNodeSetPtr fl = xnodes(c, NULL, flavor, &o), specs;

	if (!fl || !fl->nodeNr) {
		xmlXPathFreeObject(o);
		return;
	}
	d->nova_flavor = xstr(c, fl->nodeTab[0], "@name");
	if (!d->nova_flavor)
		err(c, "/domain/metadata/instance/flavor/@name", "missing");
	specs = xnodes(c, fl->nodeTab[0],
		       "nova:extraSpecs/nova:extraSpec | nova10:extraSpecs/nova10:extraSpec",
		       &so);
	if (specs && specs->nodeNr) {
		d->extra_specs = xcalloc(specs->nodeNr, sizeof(*d->extra_specs));
		for (int i = 0; i < specs->nodeNr; i++) {
			struct pp_kv *kv = &d->extra_specs[d->n_extra_specs];

			kv->name = xstr(c, specs->nodeTab[i], "@name");
			if (!kv->name) {
				char path[96];

				snprintf(path, sizeof(path),
					 "/domain/metadata/instance/flavor/extraSpecs/extraSpec[%d]/@name",
					 i + 1);
				err(c, path, "missing");
				continue;
			}
			kv->value = xstr(c, specs->nodeTab[i], ".");
			d->n_extra_specs++;
		}
	}
	xmlXPathFreeObject(so);
	xmlXPathFreeObject(o);
}

static void parse_doc(struct cx *c, struct pp_domain *d)
{
	xmlNodePtr root = xmlDocGetRootElement(c->xp->doc);
	char *s;

	if (!root || xmlStrcmp(root->name, BAD_CAST "domain") || root->ns) {
		err(c, "/", "the root element is not <domain>");
		return;
	}
	d->name = xstr(c, NULL, "/domain/name");
	if (!d->name || !d->name[0])
		err(c, "/domain/name", "missing");
	d->uuid = xstr(c, NULL, "/domain/uuid");
	d->domain_type = xstr(c, NULL, "/domain/@type");
	if (!d->domain_type || !d->domain_type[0])
		err(c, "/domain/@type", "missing");
	d->machine = xstr(c, NULL, "/domain/os/type/@machine");
	parse_vcpus(c, d);
	parse_memory(c, d);
	parse_backing(c, d);
	parse_smm(c, d);
	parse_balloon(c, d);
	parse_memdevs(c, d);
	parse_nova(c, d);
	s = xstr(c, NULL, "/domain/metadata//pp:flavor");
	if (s && !s[0])
		err(c, "/domain/metadata/flavor", "empty prepop flavor");
	d->prepop_flavor = s;
}

int pp_domain_parse(const char *xml, size_t len, const char *name,
		    struct pp_domain *d, struct pp_errs *errs)
{
	struct cx c = { .file = name, .errs = errs };
	xmlParserCtxtPtr pc;
	xmlDocPtr doc;

	memset(d, 0, sizeof(*d));
	if (len > (size_t)INT32_MAX) {
		pp_errs_add(errs, name, NULL, "domain XML too large");
		return -1;
	}
	pc = xmlNewParserCtxt();
	if (!pc)
		xoom();
	doc = xmlCtxtReadMemory(pc, xml, (int)len, name, NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR |
				XML_PARSE_NOWARNING);
	if (!doc) {
		const xmlError *e = xmlCtxtGetLastError(pc);
		char msg[256];

		snprintf(msg, sizeof(msg), "%s", e && e->message ? e->message : "unknown error");
		msg[strcspn(msg, "\n")] = '\0';
		pp_errs_add(errs, name, NULL, "malformed XML at line %d: %s",
			    e ? e->line : 0, msg);
		xmlFreeParserCtxt(pc);
		return -1;
	}
	c.xp = xmlXPathNewContext(doc);
	if (!c.xp)
		xoom();
	xmlXPathRegisterNs(c.xp, BAD_CAST "nova", BAD_CAST PP_NOVA_NS_1_1);
	xmlXPathRegisterNs(c.xp, BAD_CAST "nova10", BAD_CAST PP_NOVA_NS_1_0);
	xmlXPathRegisterNs(c.xp, BAD_CAST "pp", BAD_CAST PP_METADATA_NS);
	parse_doc(&c, d);
	xmlXPathFreeContext(c.xp);
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(pc);
	if (c.nerr) {
		pp_domain_free(d);
		return -1;
	}
	return 0;
}
