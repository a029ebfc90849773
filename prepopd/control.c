// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket: who may connect, the framing (one JSON object a
 * line each way), and the command table.  Every command runs on the loop
 * and answers at once; a client is never waited for (its output is
 * buffered, a silent one times out).
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <grp.h>
#include <json-c/json.h>
#include <libvirt/virterror.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conn.h"
#include "control.h"
#include "domains.h"
#include "explain.h"
#include "log.h"
#include "override.h"
#include "prepop/xalloc.h"
#include "prepopd.h"
#include "status.h"

#define MAX_REQUEST (64 * 1024)	/* bytes in one request line */
#define MAX_PENDING (1 << 20)	/* answers not yet read: read no more requests */
#define MAX_CLIENTS 32
#define CLIENT_TIMEOUT_S 10	/* a client that neither sends nor reads for this long is dropped */
#define PROTOCOL_VERSION 1

struct client {
	struct control *ctl;
	struct bufferevent *bev;
	uid_t uid;
	pid_t pid;
	bool closing;		/* free once the answer is out */
	bool held;		/* not read from until its answers are out */
	struct client *next;
};

struct control {
	struct agent *a;
	struct evconnlistener *listener;
	char *path;
	bool have_group;
	gid_t gid;
	struct client *clients;
	unsigned nclients;
};

/* --- answers */

static json_object *ok(void)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(true));
	return o;
}

static json_object *fail(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static json_object *fail(const char *code, const char *fmt, ...)
{
	json_object *o = json_object_new_object();
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "ok", json_object_new_boolean(false));
	json_object_object_add(o, "code", json_object_new_string(code));
	json_object_object_add(o, "error", json_object_new_string(msg));
	return o;
}

static const char *arg(json_object *req, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(req, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static json_object *errors_json(const struct pp_errs *errs)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < errs->n; i++) {
		const struct pp_err *e = &errs->v[i];
		json_object *o = json_object_new_object();
		char *text = pp_err_format(e);

		json_object_object_add(o, "file", e->file ? json_object_new_string(e->file) : NULL);
		json_object_object_add(o, "path", e->path ? json_object_new_string(e->path) : NULL);
		json_object_object_add(o, "message", json_object_new_string(e->msg));
		json_object_object_add(o, "text", json_object_new_string(text));
		json_object_array_add(a, o);
		free(text);
	}
	return a;
}

/* --- commands */

static json_object *cmd_status(struct agent *a, json_object *req, const struct client *c)
{
	json_object *o = ok();

	(void)req;
	(void)c;
	json_object_object_add(o, "status", status_json(a));
	return o;
}

static json_object *unknown_domain(const char *name)
{
	return fail("unknown-domain", "no running domain \"%s\" is known to prepopd", name);
}

static json_object *cmd_explain(struct agent *a, json_object *req, const struct client *c)
{
	const char *name = arg(req, "domain");
	struct adom *d = name ? dom_lookup(a, name) : NULL;
	json_object *e, *o;
	char *err = NULL;

	(void)c;
	if (!name)
		return fail("bad-request", "explain: \"domain\" (a name or uuid) is required");
	if (!d)
		return unknown_domain(name);
	e = explain_json(a, d, &err);
	if (!e) {
		o = fail("unavailable", "%s: %s", d->name, err);
		free(err);
		return o;
	}
	o = ok();
	json_object_object_add(o, "explain", e);
	return o;
}

/*
 * The domain an override is for: one prepopd follows, else one libvirt
 * knows (an override may be set before a guest starts).
 */
static int resolve(struct agent *a, const char *name, char *uuid, char **real_name)
{
	struct adom *d = dom_lookup(a, name);
	virConnectPtr conn = conn_get(a->conn);
	virDomainPtr vd;

	if (d) {
		snprintf(uuid, VIR_UUID_STRING_BUFLEN, "%s", d->uuid);
		*real_name = xstrdup(d->name);
		return 0;
	}
	if (!conn)
		return -1;
	vd = virDomainLookupByName(conn, name);
	if (!vd)
		vd = virDomainLookupByUUIDString(conn, name);
	if (!vd)
		return -1;
	virDomainGetUUIDString(vd, uuid);
	*real_name = xstrdup(virDomainGetName(vd));
	virDomainFree(vd);
	return 0;
}

static json_object *cmd_override(struct agent *a, json_object *req, const struct client *c)
{
	const char *name = arg(req, "domain"), *mode_s = arg(req, "mode");
	char uuid[VIR_UUID_STRING_BUFLEN], *real = NULL;
	const struct override *was;
	struct pp_errs errs = { 0 };
	enum pp_mode mode, before;
	struct adom *d;
	json_object *o;
	int good;

	if (!name || !mode_s)
		return fail("bad-request", "override: \"domain\" and \"mode\" are required");
	mode = override_mode_parse(mode_s, &good);
	if (!good)
		return fail("bad-request", "override: mode: expected prepopulate, fault or auto, got \"%s\"",
			    mode_s);
	if (resolve(a, name, uuid, &real) < 0)
		return conn_get(a->conn) ? fail("unknown-domain", "libvirt knows no domain \"%s\"", name) :
		       unknown_domain(name);
	was = override_get(a->ovr, uuid);
	before = was ? was->mode : PP_MODE_AUTO;
	if (override_set(a->ovr, uuid, real, mode, &errs) < 0) {
		char *e = pp_errs_join(&errs);

		e[strcspn(e, "\n")] = '\0';
		o = fail("failed", "the override could not be saved: %s", e);
		free(e);
		pp_errs_free(&errs);
		free(real);
		return o;
	}
	log_dom(LOG_NOTICE, real, uuid, mode == PP_MODE_AUTO ? NULL : pp_mode_str(mode), NULL,
		"operator override: %s (was %s), by uid %u",
		mode == PP_MODE_AUTO ? "none, the policy decides" : pp_mode_str(mode),
		before == PP_MODE_AUTO ? "none" : pp_mode_str(before), (unsigned)c->uid);
	d = dom_find(a, uuid);
	if (d)
		dom_override_changed(a, d);	/* decided again (if it runs free) */
	o = ok();
	json_object_object_add(o, "domain", json_object_new_string(real));
	json_object_object_add(o, "uuid", json_object_new_string(uuid));
	json_object_object_add(o, "override", mode == PP_MODE_AUTO ? NULL :
			       json_object_new_string(pp_mode_str(mode)));
	json_object_object_add(o, "previous", before == PP_MODE_AUTO ? NULL :
			       json_object_new_string(pp_mode_str(before)));
	json_object_object_add(o, "running", json_object_new_boolean(d != NULL));
	d = dom_find(a, uuid);	/* the decision may have changed it */
	if (d)
		json_object_object_add(o, "status", status_dom_json(a, d));
	free(real);
	return o;
}

static json_object *cmd_reload(struct agent *a, json_object *req, const struct client *c)
{
	struct pp_errs errs = { 0 };
	json_object *o;

	(void)req;
	log_msg(LOG_INFO, "control: reload, by uid %u", (unsigned)c->uid);
	if (agent_reload(a, &errs) == 0) {
		o = ok();
	} else {
		o = fail("invalid-policy", "the new policy in %s is invalid: generation %u stays in force",
			 a->cfg.policy_dir, a->ps.generation);
		json_object_object_add(o, "errors", errors_json(&errs));
	}
	json_object_object_add(o, "generation", json_object_new_int64(a->ps.generation));
	json_object_object_add(o, "policy_dir", json_object_new_string(a->cfg.policy_dir));
	pp_errs_free(&errs);
	return o;
}

static const struct command {
	const char *name;
	json_object *(*run)(struct agent *a, json_object *req, const struct client *c);
} commands[] = {
	{ "status", cmd_status },
	{ "explain", cmd_explain },
	{ "override", cmd_override },
	{ "reload", cmd_reload },
};

static json_object *dispatch(struct agent *a, const char *line, const struct client *c)
{
	enum json_tokener_error jerr;
	json_object *req = json_tokener_parse_verbose(line, &jerr), *v, *o = NULL;
	const char *name;

	if (!req)
		return fail("bad-request", "not JSON: %s", json_tokener_error_desc(jerr));
	if (!json_object_is_type(req, json_type_object) || !(name = arg(req, "command"))) {
		json_object_put(req);
		return fail("bad-request", "expected an object with a \"command\"");
	}
	if (json_object_object_get_ex(req, "version", &v) &&
	    json_object_get_int(v) != PROTOCOL_VERSION) {
		o = fail("bad-request", "protocol version %s is not %d", json_object_get_string(v),
			 PROTOCOL_VERSION);
		json_object_put(req);
		return o;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(name, commands[i].name))
			o = commands[i].run(a, req, c);
	if (!o)
		o = fail("bad-request", "unknown command \"%s\"", name);
	json_object_put(req);
	return o;
}

/* --- clients */

static void client_free(struct client *c)
{
	struct control *ctl = c->ctl;

	for (struct client **p = &ctl->clients; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	ctl->nclients--;
	bufferevent_free(c->bev);
	free(c);
}

static void send_answer(struct client *c, json_object *o)
{
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							     JSON_C_TO_STRING_NOSLASHESCAPE);

	bufferevent_write(c->bev, text, strlen(text));
	bufferevent_write(c->bev, "\n", 1);
	json_object_put(o);
}

static void close_after_answer(struct client *c)
{
	c->closing = true;
	bufferevent_disable(c->bev, EV_READ);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n;
	char *line;

	while (!c->closing) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) > MAX_PENDING) {
			/* it does not read its answers: read no more of its requests */
			c->held = true;
			bufferevent_disable(bev, EV_READ);
			return;
		}
		line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF);
		if (!line)
			break;
		if (n > MAX_REQUEST) {
			send_answer(c, fail("bad-request", "a request is at most %d bytes", MAX_REQUEST));
			close_after_answer(c);
		} else if (n) {
			send_answer(c, dispatch(c->ctl->a, line, c));
		}
		free(line);
	}
	if (!c->closing && evbuffer_get_length(in) > MAX_REQUEST) {
		send_answer(c, fail("bad-request", "a request is at most %d bytes", MAX_REQUEST));
		close_after_answer(c);
	}
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;

	if (c->closing && !evbuffer_get_length(bufferevent_get_output(bev))) {
		client_free(c);
	} else if (c->held) {
		c->held = false;	/* its answers are out: on with its requests */
		bufferevent_enable(bev, EV_READ);
		on_read(bev, c);
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct client *c = arg;

	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
	    evbuffer_get_length(bufferevent_get_output(bev))) {
		close_after_answer(c);	/* it stopped sending: finish the answer */
		return;
	}
	client_free(c);
}

/* root, or in the control group (primary or supplementary, at connect time) */
static bool allowed(const struct control *ctl, int fd, const struct ucred *cr, char *why, size_t len)
{
	gid_t small[64], *groups = small;
	socklen_t sl = sizeof(small);
	bool yes = false;
	int r;

	if (cr->uid == 0)
		return true;
	if (!ctl->have_group) {
		snprintf(why, len, "only root may use it (group \"%s\" does not exist)",
			 ctl->a->cfg.control_group);
		return false;
	}
	if (cr->gid == ctl->gid)
		return true;
	r = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &sl);
	if (r < 0 && errno == ERANGE) {
		groups = xcalloc(sl, 1);
		r = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &sl);
	}
	for (size_t i = 0; r == 0 && i < sl / sizeof(gid_t); i++)
		yes |= groups[i] == ctl->gid;
	if (groups != small)
		free(groups);
	if (!yes)
		snprintf(why, len, "uid %u is neither root nor in group \"%s\"", (unsigned)cr->uid,
			 ctl->a->cfg.control_group);
	return yes;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	static const struct timeval timeout = { CLIENT_TIMEOUT_S, 0 };
	struct control *ctl = arg;
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	struct client *c;
	char why[160];

	(void)l;
	(void)sa;
	(void)salen;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0) {
		log_msg(LOG_WARNING, "control: no peer credentials: %s", strerror(errno));
		close(fd);
		return;
	}
	if (ctl->nclients >= MAX_CLIENTS) {
		log_msg(LOG_WARNING, "control: %u clients already; refused pid %d", ctl->nclients,
			(int)cr.pid);
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->ctl = ctl;
	c->uid = cr.uid;
	c->pid = cr.pid;
	c->bev = bufferevent_socket_new(ctl->a->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev)
		xoom();
	c->next = ctl->clients;
	ctl->clients = c;
	ctl->nclients++;
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_set_timeouts(c->bev, &timeout, &timeout);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (!allowed(ctl, fd, &cr, why, sizeof(why))) {
		log_msg(LOG_WARNING, "control: refused pid %d: %s", (int)cr.pid, why);
		send_answer(c, fail("permission-denied", "permission denied: %s", why));
		close_after_answer(c);
	}
}

/* --- the socket */

static int listen_on(struct control *ctl, struct pp_errs *errs)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = ctl->path;
	struct stat st;
	mode_t old;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		pp_errs_add(errs, path, NULL, "a socket path is at most %zu bytes",
			    sizeof(sa.sun_path) - 1);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		pp_errs_add(errs, path, NULL, "socket: %s", strerror(errno));
		return -1;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			pp_errs_add(errs, path, NULL, "exists and is not a socket");
			goto fail;
		}
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;

		if (probe >= 0)
			close(probe);
		if (live) {
			pp_errs_add(errs, path, NULL, "another prepopd is listening on it");
			goto fail;
		}
		unlink(path);	/* left by a prepopd that died */
	}
	old = umask(0177);	/* 0600 until it is the control group's */
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0) {
		pp_errs_add(errs, path, NULL, "bind: %s", strerror(errno));
		goto fail;
	}
	if (ctl->have_group) {
		if (chown(path, (uid_t)-1, ctl->gid) < 0 || chmod(path, 0660) < 0) {
			log_msg(LOG_WARNING, "control: %s stays root's only: cannot give it to group %s: %s",
				path, ctl->a->cfg.control_group, strerror(errno));
			ctl->have_group = false;
		}
	}
	if (listen(fd, 16) < 0) {
		pp_errs_add(errs, path, NULL, "listen: %s", strerror(errno));
		unlink(path);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

int control_start(struct agent *a, struct pp_errs *errs)
{
	struct control *ctl = xcalloc(1, sizeof(*ctl));
	struct group gr, *g = NULL;
	size_t len = 4096;
	char *buf = xreallocarray(NULL, len, 1);
	int fd, r;

	ctl->a = a;
	ctl->path = xstrdup(a->cfg.control_socket);
	/* a group with many members needs a larger buffer */
	while ((r = getgrnam_r(a->cfg.control_group, &gr, buf, len, &g)) == ERANGE && len < (1u << 24)) {
		len *= 2;
		buf = xreallocarray(buf, len, 1);
	}
	if (r == 0 && g) {
		ctl->have_group = true;
		ctl->gid = g->gr_gid;
	} else if (r) {
		log_msg(LOG_WARNING, "control socket: group %s: %s", a->cfg.control_group, strerror(r));
	}
	free(buf);
	fd = listen_on(ctl, errs);
	if (fd < 0) {
		free(ctl->path);
		free(ctl);
		return -1;
	}
	ctl->listener = evconnlistener_new(a->base, on_accept, ctl,
					   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (!ctl->listener)
		xoom();
	a->ctl = ctl;
	log_msg(LOG_INFO, "control: listening on %s (root%s%s)", ctl->path,
		ctl->have_group ? " and group " : " only", ctl->have_group ? a->cfg.control_group : "");
	return 0;
}

void control_stop(struct agent *a)
{
	struct control *ctl = a->ctl;

	if (!ctl)
		return;
	while (ctl->clients)
		client_free(ctl->clients);
	evconnlistener_free(ctl->listener);
	unlink(ctl->path);
	free(ctl->path);
	free(ctl);
	a->ctl = NULL;
}
